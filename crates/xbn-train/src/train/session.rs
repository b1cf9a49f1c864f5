//! Everything a training run holds: configuration, run folder, data, model, optimizer,
//! objective, sampler and outputs; opened fresh or from the last checkpoint.

use std::path::{Path, PathBuf};

use candle_core::Device;
use xbn_data::PkSampler;

use super::batches::Batches;
use super::data::TrainData;
use super::evaluate::{Evaluation, evaluate_model};
use super::losses::{LossContext, build_loss};
use super::network::build_model;
use super::objective::Objective;
use super::optimizer::Optimizers;
use super::seeds::{Purpose, derive};
use crate::checkpoint::{self, Checkpoint};
use crate::config::{TrainConfig, validate};
use crate::error::{Result, TrainError};
use crate::outputs::log::RunLog;
use crate::outputs::metrics::{MetricsRecord, MetricsWriter, read_records};
use crate::outputs::plots;
use crate::run_lock::RunLock;
use xbn_nn::model::Backbone;

/// The best evaluation so far by `eval.best_metric`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    /// Its value.
    pub value: f64,
    /// The iteration it was reached at.
    pub iteration: usize,
}

/// A training run in progress.
pub struct Session {
    /// The resolved configuration.
    pub cfg: TrainConfig,
    /// The run folder `<output_dir>/<name>`.
    pub dir: PathBuf,
    /// The device.
    pub device: Device,
    /// Dataset and transforms.
    pub data: TrainData,
    /// The network.
    pub backbone: Box<dyn Backbone>,
    /// Optimizers of the backbone and head groups.
    pub optim: Optimizers,
    /// Loss, memory and moment matcher.
    pub objective: Objective,
    /// `P × K` batches, positioned at `iteration`, until the first step hands them to `loader`.
    pub sampler: Option<PkSampler>,
    /// The training loader, started by the first step at `iteration`.
    pub loader: Option<Batches>,
    /// Iterations completed.
    pub iteration: usize,
    /// Best evaluation so far.
    pub best: Option<Best>,
    /// `metrics.jsonl`.
    pub metrics: MetricsWriter,
    /// `train.log`.
    pub log: RunLog,
    /// Where the last good checkpoint is (for error messages).
    pub last_checkpoint: Option<(PathBuf, usize)>,
    /// The Recall@K list of evaluations.
    pub ks: Vec<usize>,
    /// Learnable parameters of the loss (proxy-anchor's proxies), checkpointed as `lossparams.*`.
    pub loss_params: Vec<(String, candle_core::Var)>,
    /// The run folder's lock, held while the session lives.
    _lock: RunLock,
    /// An iteration whose evaluation `metrics.jsonl` already holds within a training record
    /// (a finished run resumed): [`Session::record_eval`] does not write it again.
    eval_recorded_at: Option<usize>,
}

impl Session {
    /// Validates everything, then prepares the run folder, the model and the data; with
    /// `resume`, restores the state of the folder's last checkpoint.
    pub fn open(cfg: &TrainConfig, resume: bool, device: &Device) -> Result<Self> {
        validate::validate(cfg)?;
        let dir = cfg.run.output_dir.join(&cfg.run.name);
        if resume && !checkpoint::rotate::exists(&dir) {
            return Err(TrainError::Config(format!(
                "--resume {}: no checkpoint ({}) in that folder",
                dir.display(),
                checkpoint::LAST
            )));
        }
        let created = !dir.exists();
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        // One writer per run folder, checked before any work.
        let lock = match RunLock::acquire(&dir) {
            Ok(lock) => lock,
            Err(e) => {
                remove_if_fresh(&dir, created);
                return Err(e);
            }
        };
        // A start refused before training (a bad dataset, missing weights, impossible
        // sampling) leaves no folder behind when there was none.
        Self::open_locked(cfg, resume, device, dir.clone(), lock).inspect_err(|_| {
            remove_if_fresh(&dir, created);
        })
    }

    /// [`Session::open`] once the run folder exists and is locked (the lock is released on
    /// error).
    fn open_locked(
        cfg: &TrainConfig,
        resume: bool,
        device: &Device,
        dir: PathBuf,
        lock: RunLock,
    ) -> Result<Self> {
        if !resume && checkpoint::rotate::exists(&dir) && !cfg.run.overwrite {
            return Err(TrainError::Config(format!(
                "{} already holds a run; continue it with --resume {}, choose another --name, or set run.overwrite = true",
                dir.display(),
                dir.display()
            )));
        }
        let model = build_model(cfg, true, device)?;
        let backbone = model.backbone;
        let data = TrainData::open(cfg, &backbone.input_spec(), model.tokenizer)?;
        validate::validate_sampling(cfg, &data.class_sizes())?;
        let sampler = data.sampler(cfg)?;
        let ctx = LossContext {
            num_classes: data
                .class_sizes()
                .keys()
                .max()
                .map_or(0, |&m| m as usize + 1),
            dim: backbone.embedding_dim(),
            seed: derive(cfg.run.seed, Purpose::Init, 0),
            device: device.clone(),
        };
        let loss = build_loss(&cfg.loss, &ctx)?;
        let loss_params: Vec<(String, candle_core::Var)> = loss
            .parameters()
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("loss.{i}"), v))
            .collect();
        let optim = Optimizers::new(cfg, backbone.as_ref(), loss_params.clone())?;
        let objective = Objective::new(cfg, loss, backbone.embedding_dim(), device)?;

        if !resume {
            // The previous checkpoint goes before the last one: a kill in between leaves a
            // complete last checkpoint, never a lone previous one.
            for f in [
                checkpoint::rotate::PREV,
                checkpoint::LAST,
                checkpoint::BEST,
                "metrics.jsonl",
                "train.log",
            ] {
                let p = dir.join(f);
                if p.exists() {
                    std::fs::remove_file(&p).map_err(|e| TrainError::io(&p, e))?;
                }
            }
        }

        let ks = if cfg.eval.k.is_empty() {
            data.standard_ks()
        } else {
            cfg.eval.k.clone()
        };
        let mut s = Self {
            cfg: cfg.clone(),
            dir: dir.clone(),
            device: device.clone(),
            data,
            backbone,
            optim,
            objective,
            sampler: Some(sampler),
            loader: None,
            iteration: 0,
            best: None,
            metrics: MetricsWriter::open(&dir.join("metrics.jsonl"), None)?,
            log: RunLog::open(&dir.join("train.log"))?,
            last_checkpoint: None,
            ks,
            loss_params,
            _lock: lock,
            eval_recorded_at: None,
        };
        if resume {
            s.restore_from_folder()?;
            let metrics_path = dir.join("metrics.jsonl");
            if s.iteration >= cfg.run.iterations {
                // Training had ended: the final evaluation is done again; its record is
                // written once.
                if drop_evaluation_records(&metrics_path, s.iteration)? {
                    s.eval_recorded_at = Some(s.iteration);
                }
            }
            s.metrics = MetricsWriter::open(&metrics_path, Some(s.iteration))?;
            if let Some(sampler) = s.sampler.as_mut() {
                for _ in 0..s.iteration {
                    sampler.next();
                }
            }
        }
        // Written once the checkpoint (if any) is accepted: a refused resume leaves the
        // folder's configuration as it was.
        let cfg_path = dir.join("config.toml");
        crate::checkpoint::atomic::write_atomic(&cfg_path, cfg.to_toml_string()?.as_bytes())?;
        let message = format!(
            "{} run `{}`: {} on {} ({} train / {} test {}), norm {:?}, memory {}, {} iterations from {}",
            if resume { "resuming" } else { "starting" },
            cfg.run.name,
            s.backbone.name(),
            cfg.data.dataset,
            s.data.train_indices().len(),
            s.data.test_protocol().0.len(),
            if cfg.model.backbone.is_text() {
                "texts"
            } else {
                "images"
            },
            cfg.norm.kind,
            cfg.memory.size,
            cfg.run.iterations,
            s.iteration
        );
        s.log.line(&message)?;
        Ok(s)
    }

    /// Evaluates the current model on the test protocol.
    pub fn evaluate(&self) -> Result<Evaluation> {
        evaluate_model(
            self.backbone.as_ref(),
            &self.data,
            &self.ks,
            self.cfg.eval.batch_size,
            &self.device,
        )
    }

    /// Writes a metrics line that holds only an evaluation.
    pub fn record_eval(&mut self, iteration: usize, e: &Evaluation) -> Result<()> {
        if self.eval_recorded_at == Some(iteration) {
            return Ok(());
        }
        let rec = MetricsRecord {
            iteration,
            eval: Some(e.metrics.clone()),
            memory_fill: self.objective.memory_fill(),
            ..MetricsRecord::default()
        };
        self.metrics.write(&rec)
    }

    /// Saves `best.safetensors` when `e` improves `eval.best_metric`.
    pub fn track_best(&mut self, e: &Evaluation) -> Result<()> {
        let key = &self.cfg.eval.best_metric;
        let Some(&value) = e.metrics.get(key) else {
            return Ok(());
        };
        if self.best.is_some_and(|b| b.value >= value) {
            return Ok(());
        }
        self.best = Some(Best {
            value,
            iteration: self.iteration,
        });
        let mut ck = Checkpoint::default();
        ck.insert_part("model", super::network::model_state(self.backbone.as_ref()));
        ck.metadata
            .insert("iteration".into(), self.iteration.to_string());
        ck.metadata.insert(key.clone(), value.to_string());
        ck.save(&self.dir.join(checkpoint::BEST))?;
        self.log.line(&format!(
            "new best {key} = {value:.4} at iteration {}",
            self.iteration
        ))
    }

    /// Redraws the PNG plots from `metrics.jsonl`; a plotting failure is logged, not fatal.
    pub fn draw_plots(&mut self) {
        let result = read_records(&self.dir.join("metrics.jsonl"))
            .and_then(|r| plots::draw_all(&self.dir, &r));
        if let Err(e) = result {
            tracing::warn!("plots not drawn: {e}");
        }
    }

    /// Describes the last good checkpoint for error messages.
    pub fn last_checkpoint_text(&self) -> String {
        match &self.last_checkpoint {
            Some((p, it)) => format!("{} (iteration {it})", p.display()),
            None => "none written yet".into(),
        }
    }
}

/// Removes from `metrics.jsonl` the records that hold only an evaluation at `iteration` (the
/// final evaluation of a run that was stopped after its last checkpoint, which resuming then
/// repeats), replacing the file atomically. Lines that do not parse are kept. Returns whether
/// a training record at `iteration` holds an evaluation (kept: it is not written again).
fn drop_evaluation_records(path: &std::path::Path, iteration: usize) -> Result<bool> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(TrainError::io(path, e)),
    };
    let merged = text.lines().any(|line| {
        serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| {
            v["iteration"].as_u64() == Some(iteration as u64)
                && v["loss"].as_object().is_some_and(|l| !l.is_empty())
                && v["eval"].is_object()
        })
    });
    let evaluation_only = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| {
            v["iteration"].as_u64() == Some(iteration as u64)
                && v["loss"].as_object().is_some_and(|l| l.is_empty())
                && v["eval"].is_object()
        })
    };
    let kept: String = text
        .lines()
        .filter(|l| !evaluation_only(l))
        .map(|l| format!("{l}\n"))
        .collect();
    if kept.len() != text.len() {
        crate::checkpoint::atomic::write_atomic(path, kept.as_bytes())?;
    }
    Ok(merged)
}

/// Removes the run folder `dir` when this start `created` it and it holds nothing but the
/// lock file (the lock itself has been released by then); best effort.
fn remove_if_fresh(dir: &Path, created: bool) {
    if !created {
        return;
    }
    let _ = std::fs::remove_file(dir.join(crate::run_lock::LOCK));
    // Not recursive: a folder that got any other file is kept.
    let _ = std::fs::remove_dir(dir);
}
