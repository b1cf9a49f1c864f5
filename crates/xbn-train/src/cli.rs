//! The command line: `train` (the default), `eval`, `data-check`, `embed`, `sweep`.

use std::path::{Path, PathBuf};

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
    /// Write `report.html` (metrics, curves, retrieval galleries) for a run or sweep folder.
    Report(ReportArgs),
    /// Draw the retrieval gallery of a run as one PNG.
    Gallery(GalleryArgs),
    /// Embed a folder of images (or a dataset split, or texts) into a searchable catalogue.
    Index(IndexArgs),
    /// Print the nearest catalogue entries of query images (or texts).
    Search(SearchArgs),
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
    ///
    /// When resuming, `run.output_dir` and `run.name` come from the `--resume` folder itself,
    /// never from its saved `config.toml`: a run folder that was copied or moved continues
    /// where it now is. Overriding either key with `--resume` is refused.
    pub fn resolve_config(&self) -> Result<TrainConfig> {
        let cfg = self.resolve_base_config()?;
        match &self.resume {
            Some(dir) => resume_in_place(cfg, dir, &self.assignments()),
            None => Ok(cfg),
        }
    }

    fn resolve_base_config(&self) -> Result<TrainConfig> {
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

/// Points `cfg` at the run folder `dir` (`run.output_dir` = its parent, `run.name` = its last
/// component), refusing assignments that would send the resumed run elsewhere.
fn resume_in_place(
    mut cfg: TrainConfig,
    dir: &Path,
    assignments: &[String],
) -> Result<TrainConfig> {
    for a in assignments {
        let key = a.split('=').next().unwrap_or_default().trim();
        if key == "run.name" || key == "run.output_dir" {
            return Err(TrainError::Config(format!(
                "--resume {} continues the run in that folder; `{key}` cannot be changed (copy the folder to continue it elsewhere)",
                dir.display()
            )));
        }
    }
    let named = match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => Some((parent.to_path_buf(), name.to_os_string())),
        _ => None,
    };
    let (parent, name) = match named {
        Some(pn) => pn,
        None => {
            let abs = dir.canonicalize().map_err(|e| TrainError::io(dir, e))?;
            match (abs.parent(), abs.file_name()) {
                (Some(parent), Some(name)) => (parent.to_path_buf(), name.to_os_string()),
                _ => {
                    return Err(TrainError::Config(format!(
                        "--resume {}: not a run folder",
                        dir.display()
                    )));
                }
            }
        }
    };
    cfg.run.output_dir = parent;
    cfg.run.name = name.into_string().map_err(|name| {
        TrainError::Config(format!(
            "--resume {}: the folder name {name:?} is not UTF-8",
            dir.display()
        ))
    })?;
    Ok(cfg)
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
    /// Output safetensors file (`embeddings` f32 n×d, `labels` i64 n), or `X.npy` (then
    /// labels in `X_labels.npy`).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Override configuration keys (e.g. `data.root=...`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device.
    #[arg(long)]
    pub device: Option<String>,
}

/// Options of `index` (see `docs/search.md`).
#[derive(Debug, Args, Clone)]
#[command(group(clap::ArgGroup::new("inputs").required(true).args(["images", "split", "texts"])))]
pub struct IndexArgs {
    /// The run folder (`runs/<name>`) whose config and model to use.
    #[arg(long)]
    pub run: PathBuf,
    /// A checkpoint file other than the run's last one (e.g. `runs/<name>/best.safetensors`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// A folder of images (JPEG, PNG), read recursively; when every image sits in a
    /// subfolder, the subfolder is its class (label), else labels are unknown.
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
    /// Index a split of the run's dataset instead (its items' paths and labels).
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    /// Index texts instead (text backbones): a UTF-8 file, one text per line.
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// The catalogue: a safetensors file, or `X.npy` (then also `X_labels.npy` when labels
    /// are known, and `X_meta.json`).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Override configuration keys (e.g. `data.root=...`, `eval.batch_size=64`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device.
    #[arg(long)]
    pub device: Option<String>,
}

/// Options of `search` (see `docs/search.md`).
#[derive(Debug, Args, Clone)]
pub struct SearchArgs {
    /// The run folder (`runs/<name>`) whose model built the catalogue.
    #[arg(long)]
    pub run: PathBuf,
    /// A checkpoint file other than the run's last one (the one the catalogue was built with).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The catalogue written by `xbn-train index` (safetensors or `.npy`).
    #[arg(long)]
    pub index: PathBuf,
    /// Query images.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// A query text (text backbones; repeatable).
    #[arg(long = "text", value_name = "TEXT")]
    pub text: Vec<String>,
    /// Query texts from a UTF-8 file, one per line (text backbones).
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Override configuration keys.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device.
    #[arg(long)]
    pub device: Option<String>,
}

/// What the retrieval galleries show (`report` and `gallery`).
#[derive(Debug, Args, Clone)]
pub struct GalleryChoice {
    /// Number of sampled queries.
    #[arg(long, default_value_t = 8)]
    pub queries: usize,
    /// Neighbours shown per query.
    #[arg(long, default_value_t = 8)]
    pub k: usize,
    /// Seed of the query sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device for embedding (when the run saved no test embeddings) and the k-NN search.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Options of `report`.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// A run folder (`runs/<name>`) or a sweep folder (one holding `summary.json`).
    pub dir: PathBuf,
    /// The galleries.
    #[command(flatten)]
    pub gallery: GalleryChoice,
    /// Number of worst queries (lowest average precision) shown.
    #[arg(long, default_value_t = 8)]
    pub worst: usize,
    /// Number of most confused class pairs shown.
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
}

/// Options of `gallery`.
#[derive(Debug, Args, Clone)]
pub struct GalleryArgs {
    /// The run folder (`runs/<name>`).
    #[arg(long)]
    pub run: PathBuf,
    /// The galleries.
    #[command(flatten)]
    pub gallery: GalleryChoice,
    /// Draw the worst queries (lowest average precision) instead of a seeded sample.
    #[arg(long)]
    pub worst: bool,
    /// Picture size in pixels.
    #[arg(long, default_value_t = 128)]
    pub size: u32,
    /// Output PNG file.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}
