//! The command line: `train` (the default), `eval`, `data-check`, `embed`, `sweep`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{TrainConfig, overrides};
use crate::error::{Result, TrainError};

/// Train image-retrieval embeddings with a cross-batch memory and (adaptive) cross-batch
/// normalization. Without a subcommand, `train` runs with its defaults: the small CNN on the
/// synthetic dataset with adaptive XBN.
#[derive(Debug, Parser)]
#[command(
    name = "xbn-train",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The subcommand (default: `train`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `train` when no subcommand is given.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model (the default).
    Train(Box<TrainArgs>),
    /// Score embeddings saved in safetensors (`embeddings` f32 n×d, `labels` i64 n) or .npy.
    Eval(EvalArgs),
    /// Check a downloaded dataset and print a JSON report.
    DataCheck(DataCheckArgs),
    /// Export embeddings of a dataset split computed with a trained checkpoint.
    Embed(EmbedArgs),
    /// Run every cell of a grid of configuration overrides, then summarize over seeds.
    Sweep(SweepArgs),
}

/// Options of `sweep`.
#[derive(Debug, Args, Clone)]
pub struct SweepArgs {
    /// The grid: a TOML file with `[axes]` (configuration key → list of values), and optionally
    /// `name`, `base`, `output_dir`, `metric`, `x`, `set` (see `docs/sweep.md`).
    #[arg(long)]
    pub grid: PathBuf,
    /// List the cells and which are already finished; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Options of `train`.
#[derive(Debug, Args, Default, Clone)]
pub struct TrainArgs {
    /// A TOML configuration (e.g. `configs/sop-axbn.toml`); default: the default run.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Continue the run in this folder from its last checkpoint (`runs/<name>`).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Override any configuration key: `--set memory.size=8192` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// `run.name`.
    #[arg(long)]
    pub name: Option<String>,
    /// `run.output_dir`.
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// `run.device`: `cpu`, `cuda[:N]` or `metal`.
    #[arg(long)]
    pub device: Option<String>,
    /// `run.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// `run.iterations`.
    #[arg(long)]
    pub iterations: Option<usize>,
    /// `run.eval_every`.
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// `run.measure_drift`: measure memory drift every this many iterations.
    #[arg(long)]
    pub measure_drift: Option<usize>,
    /// `data.dataset`.
    #[arg(long)]
    pub dataset: Option<String>,
    /// `data.root`.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// `norm.kind`: none, xbn or axbn.
    #[arg(long)]
    pub norm: Option<String>,
    /// `memory.size`.
    #[arg(long)]
    pub memory_size: Option<usize>,
    /// `memory.t_start`.
    #[arg(long)]
    pub t_start: Option<usize>,
    /// `loss.name`: xbm-contrastive, pml-contrastive, triplet, multi-similarity, circle, ntxent
    /// or proxy-anchor.
    #[arg(long)]
    pub loss: Option<String>,
    /// `model.backbone`: small-cnn or resnet50.
    #[arg(long)]
    pub backbone: Option<String>,
    /// `model.weights`: `hf:<repo>` or a safetensors file.
    #[arg(long)]
    pub weights: Option<String>,
}

impl TrainArgs {
    /// The `--set` assignments equivalent to the dedicated flags, then the explicit `--set`s
    /// (which therefore win).
    pub fn assignments(&self) -> Vec<String> {
        let mut out = Vec::new();
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(format!("{k}={v}"));
            }
        };
        push("run.name", self.name.as_deref().map(q));
        push(
            "run.output_dir",
            self.output_dir.as_ref().map(|p| q(&p.to_string_lossy())),
        );
        push("run.device", self.device.as_deref().map(q));
        push("run.seed", self.seed.map(|v| v.to_string()));
        push("run.iterations", self.iterations.map(|v| v.to_string()));
        push("run.eval_every", self.eval_every.map(|v| v.to_string()));
        push(
            "run.measure_drift",
            self.measure_drift.map(|v| v.to_string()),
        );
        push("data.dataset", self.dataset.as_deref().map(q));
        push(
            "data.root",
            self.root.as_ref().map(|p| q(&p.to_string_lossy())),
        );
        push("norm.kind", self.norm.as_deref().map(q));
        push("memory.size", self.memory_size.map(|v| v.to_string()));
        push("memory.t_start", self.t_start.map(|v| v.to_string()));
        push("loss.name", self.loss.as_deref().map(q));
        push("model.backbone", self.backbone.as_deref().map(q));
        push("model.weights", self.weights.as_deref().map(q));
        out.extend(self.set.iter().cloned());
        out
    }

    /// The configuration: the file given with `--config` (or, when resuming, the run's saved
    /// `config.toml`), else the defaults, with every override applied.
    pub fn resolve_config(&self) -> Result<TrainConfig> {
        let base = match (&self.resume, &self.config) {
            (Some(_), Some(_)) => {
                return Err(TrainError::Config(
                    "--resume uses the run's saved config.toml; do not also give --config".into(),
                ));
            }
            (Some(dir), None) => TrainConfig::from_file(&dir.join("config.toml"))?,
            (None, Some(path)) => TrainConfig::from_file(path)?,
            (None, None) => TrainConfig::default(),
        };
        overrides::apply(&base, &self.assignments())
    }
}

/// The evaluation protocol of `eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolArg {
    /// Leave-one-out: every item queries all others (SOP, CUB, Cars).
    Loo,
    /// Queries (`--embeddings`) against a gallery (`--gallery`) (In-Shop, DeepFashion2).
    QueryGallery,
}

/// Options of `eval`.
#[derive(Debug, Args, Clone)]
pub struct EvalArgs {
    /// Embeddings and labels of the queries (or of everything, leave-one-out).
    #[arg(long)]
    pub embeddings: PathBuf,
    /// Embeddings and labels of the gallery (query-gallery protocol).
    #[arg(long)]
    pub gallery: Option<PathBuf>,
    /// Evaluation protocol.
    #[arg(long, value_enum, default_value = "loo")]
    pub protocol: ProtocolArg,
    /// The K of Recall@K, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    pub k: Vec<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Device for the k-NN search.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Options of `data-check`.
#[derive(Debug, Args, Clone)]
pub struct DataCheckArgs {
    /// Dataset name (`sop`, `inshop`, `deepfashion2`, `cub`, `cars`, `folder`, `fashion-mnist`, `synthetic`).
    #[arg(long)]
    pub dataset: String,
    /// Dataset root folder.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

/// Which split `embed` exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    /// Training classes.
    Train,
    /// Test classes (all roles).
    Test,
    /// Test queries only.
    Query,
    /// Test gallery only.
    Gallery,
}

/// Options of `embed`.
#[derive(Debug, Args, Clone)]
pub struct EmbedArgs {
    /// The run folder (`runs/<name>`) whose config and checkpoint to use.
    #[arg(long)]
    pub run: PathBuf,
    /// A checkpoint file other than the run's last one (e.g. `runs/<name>/best.safetensors`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The split to export.
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Embed these texts instead of a dataset split (text backbones): a UTF-8 file with one
    /// text per line, in order (an empty line is an empty text). The output then holds
    /// `embeddings` only.
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// Output safetensors file (`embeddings` f32 n×d, `labels` i64 n).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Override configuration keys (e.g. `data.root=...`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device.
    #[arg(long)]
    pub device: Option<String>,
}
