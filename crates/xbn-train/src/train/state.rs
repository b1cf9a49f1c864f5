//! Saving a session into a checkpoint and restoring it: model, optimizer, the memory (queue,
//! matcher state, iteration and provenance, one part), RNG state (seed and batches drawn) and
//! the iteration.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::network::{load_model_state, model_state};
use super::session::{Best, Session};
use crate::checkpoint::{self, Checkpoint, rotate, shape_keys};
use crate::error::{Result, TrainError};

/// Checkpoint format version written in the metadata.
pub const FORMAT: &str = "xbn-train-checkpoint-1";

impl Session {
    /// Writes `checkpoint.safetensors` atomically; on failure the previous one is intact and
    /// the error says so.
    pub fn save_checkpoint(&mut self) -> Result<()> {
        let mut ck = Checkpoint::default();
        ck.insert_part("model", model_state(self.backbone.as_ref()));
        ck.insert_part("optim", self.optim.state()?);
        ck.insert_part(
            "lossparams",
            self.loss_params
                .iter()
                .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                .collect(),
        );
        for (prefix, part) in self.objective.state()? {
            ck.insert_part(prefix, part);
        }
        // The sampler's position: the run seed and the batches drawn so far (a resumed run
        // re-derives every random choice from these; earlier versions named it `rng.state`).
        let position = Tensor::new(
            &[self.cfg.run.seed as i64, self.iteration as i64],
            &Device::Cpu,
        )?;
        ck.tensors.insert("sampler.position".into(), position);
        let meta = &mut ck.metadata;
        meta.insert("format".into(), FORMAT.into());
        meta.insert("iteration".into(), self.iteration.to_string());
        meta.insert("seed".into(), self.cfg.run.seed.to_string());
        if let Some(b) = self.best {
            meta.insert("best_value".into(), b.value.to_string());
            meta.insert("best_iteration".into(), b.iteration.to_string());
        }
        shape_keys::record(&self.cfg, meta)?;
        let path = self.dir.join(checkpoint::LAST);
        // The current file becomes the previous one only when it is known to be good (this
        // session wrote or restored it) and is of an earlier iteration; a damaged one, or one
        // of this same iteration, is replaced and the previous one kept.
        let keep_previous = self
            .last_checkpoint
            .as_ref()
            .is_some_and(|(p, it)| p == &path && *it < self.iteration);
        if let Err(e) = rotate::save_keeping_previous(&ck, &self.dir, keep_previous) {
            return Err(TrainError::Checkpoint {
                path: path.clone(),
                message: format!(
                    "could not save at iteration {} ({e}); the previous checkpoint is intact: {}",
                    self.iteration,
                    self.last_checkpoint_text()
                ),
            });
        }
        self.last_checkpoint = Some((path.clone(), self.iteration));
        self.log.line(&format!(
            "checkpoint at iteration {} saved to {}",
            self.iteration,
            path.display()
        ))
    }

    /// Restores the state of the run folder's last checkpoint, or of the previous one (with a
    /// warning) when the last is missing or damaged. Refuses a checkpoint whose shape-changing
    /// configuration keys differ from this session's.
    pub fn restore_from_folder(&mut self) -> Result<()> {
        let loaded = rotate::load_last_or_previous(&self.dir, &self.device)?;
        if let Some(why) = &loaded.fallback {
            tracing::warn!("{why}");
            self.log.line(&format!("warning: {why}"))?;
        }
        self.restore_checkpoint(&loaded.checkpoint, &loaded.path)
    }

    /// Restores the state saved in `path`.
    pub fn restore(&mut self, path: &Path) -> Result<()> {
        let ck = Checkpoint::load(path, &self.device)?;
        self.restore_checkpoint(&ck, path)
    }

    /// Restores the state of `ck`, read from `path` (named in errors).
    pub fn restore_checkpoint(&mut self, ck: &Checkpoint, path: &Path) -> Result<()> {
        if shape_keys::recorded(&ck.metadata) {
            let differences = shape_keys::differences(&self.cfg, &ck.metadata)?;
            if !differences.is_empty() {
                return Err(TrainError::ConfigMismatch {
                    path: path.to_path_buf(),
                    differences,
                });
            }
        } else {
            tracing::warn!(
                "{}: written by an earlier version, without the configuration it was trained with; shapes are checked tensor by tensor",
                path.display()
            );
        }
        let seed: u64 = ck.meta("seed", path)?;
        if seed != self.cfg.run.seed {
            return Err(TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!(
                    "written with run.seed = {seed}, but the configuration says {}",
                    self.cfg.run.seed
                ),
            });
        }
        let iteration: usize = ck.meta("iteration", path)?;
        if let Some(position) = ck.tensors.get("sampler.position") {
            // Written with the metadata: the run seed and the batches drawn.
            let saved: Vec<i64> = position.flatten_all()?.to_dtype(DType::I64)?.to_vec1()?;
            if saved != [seed as i64, iteration as i64] {
                return Err(TrainError::Checkpoint {
                    path: path.to_path_buf(),
                    message: format!(
                        "`sampler.position` {saved:?} disagrees with the metadata (seed {seed}, iteration {iteration})"
                    ),
                });
            }
        }
        load_model_state(self.backbone.as_ref(), &ck.part("model"))?;
        let saved = ck.part("lossparams");
        for (name, var) in &self.loss_params {
            let t = saved.get(name).ok_or_else(|| TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!("tensor `lossparams.{name}` is missing"),
            })?;
            if t.dims() != var.dims() {
                return Err(TrainError::Checkpoint {
                    path: path.to_path_buf(),
                    message: format!(
                        "`lossparams.{name}` has shape {:?}, expected {:?}",
                        t.dims(),
                        var.dims()
                    ),
                });
            }
        }
        for (name, var) in &self.loss_params {
            var.set(&saved[name].to_device(var.device())?.to_dtype(var.dtype())?)?;
        }
        self.optim.load_state(&ck.part("optim"))?;
        self.objective
            .load_state(|p| ck.part(p), iteration, &self.device)?;
        self.iteration = iteration;
        self.best = match (
            ck.metadata.get("best_value"),
            ck.metadata.get("best_iteration"),
        ) {
            (Some(_), Some(_)) => Some(Best {
                value: ck.meta("best_value", path)?,
                iteration: ck.meta("best_iteration", path)?,
            }),
            _ => None,
        };
        self.last_checkpoint = Some((path.to_path_buf(), iteration));
        Ok(())
    }
}
