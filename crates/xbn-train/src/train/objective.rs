//! The training objective of one iteration, xbn-losses' [`XbmLoss`] (spec, "XBM"):
//! `L_t = ℓ(Z_t, Z_t) + w · ℓ(Z_t, M̂_t)` for `t ≥ t_start`, else `ℓ(Z_t, Z_t)`. The memory, its
//! moment matcher (identity, XBN or AXBN), the iteration counter and, for the drift diagnostic,
//! each entry's provenance all live in one [`CrossBatchMemory`] inside the loss, which saves and
//! restores as one tensor map (`memory.*` in the checkpoint).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use xbn_core::{
    AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, Identity, MomentMatcher, XbnConfig,
};
use xbn_losses::{MetricLoss, RefSet, XbmLoss};
use xbn_memory::{
    BatchProvenance, CrossBatchMemory, EmbeddingQueue, MemorySettings, NO_AUGMENTATION,
};

use super::legacy_checkpoint::legacy_memory_state;
use crate::config::{NormKind, TrainConfig};
use crate::error::{Result, TrainError};
use crate::outputs::metrics::ShiftRecord;

/// Loss terms of one iteration, as tensors: reading them costs a device-to-host copy, so the
/// trainer reads them only on the iterations it logs.
#[derive(Debug, Clone)]
pub struct LossTerms {
    /// `L_t`, differentiable w.r.t. the batch embeddings.
    pub total: Tensor,
    /// `ℓ(Z, Z)`, detached.
    pub batch: Tensor,
    /// `w · ℓ(Z, M̂)`, detached, when the memory term is on.
    pub memory: Option<Tensor>,
}

/// The loss with or without a memory (`memory.size = 0`).
enum Kind {
    Plain(Box<dyn MetricLoss>),
    Xbm(Box<XbmLoss>),
}

/// The loss and, with `memory.size > 0`, the cross-batch memory it owns.
pub struct Objective {
    kind: Kind,
}

impl Objective {
    /// The objective of `cfg` for `dim`-dimensional embeddings on `device`. The memory keeps
    /// per-entry provenance only when the drift diagnostic is on (`run.measure_drift > 0`).
    pub fn new(
        cfg: &TrainConfig,
        loss: Box<dyn MetricLoss>,
        dim: usize,
        device: &Device,
    ) -> Result<Self> {
        if cfg.memory.size == 0 {
            return Ok(Self {
                kind: Kind::Plain(loss),
            });
        }
        let matcher: Box<dyn MomentMatcher> = match cfg.norm.kind {
            NormKind::None => Box::new(Identity),
            NormKind::Xbn => Box::new(CrossBatchNorm::new(XbnConfig {
                eps: cfg.norm.eps,
                renormalize: cfg.norm.renormalize,
            })?),
            NormKind::Axbn => Box::new(AdaptiveCrossBatchNorm::new(AxbnConfig {
                eps: cfg.norm.eps,
                renormalize: cfg.norm.renormalize,
                drift_rate: cfg.norm.q,
                observation_noise: cfg.norm.observation_noise.into(),
                trend_rate: cfg.norm.trend_rate,
            })?),
        };
        let queue = EmbeddingQueue::new(cfg.memory.size, dim, DType::F32, device)?;
        let settings = MemorySettings {
            t_start: cfg.memory.t_start as u64,
            fill: cfg.memory.fill.into(),
            provenance: cfg.run.measure_drift > 0,
        };
        let memory = CrossBatchMemory::new(queue, matcher, settings)?;
        let xbm = XbmLoss::new(loss, memory, cfg.memory.weight)?;
        Ok(Self {
            kind: Kind::Xbm(Box::new(xbm)),
        })
    }

    /// The cross-batch memory, when there is one.
    pub fn memory(&self) -> Option<&CrossBatchMemory> {
        match &self.kind {
            Kind::Xbm(x) => Some(x.memory()),
            Kind::Plain(_) => None,
        }
    }

    /// Entries in the memory.
    pub fn memory_fill(&self) -> usize {
        self.memory().map_or(0, CrossBatchMemory::len)
    }

    /// The moments' shift of the last adaptation.
    pub fn last_shift(&self) -> Option<ShiftRecord> {
        self.memory()?.last_shift().map(|s| ShiftRecord {
            mean: s.mean,
            log_std: s.log_std,
        })
    }

    /// Replaces the memory content (XBM's warm start) by `z (n × d)` of images `indices`,
    /// embedded without augmentation.
    pub fn fill(&mut self, z: &Tensor, labels: &[i64], indices: &[usize]) -> Result<()> {
        let Kind::Xbm(x) = &mut self.kind else {
            return Ok(());
        };
        let y = Tensor::from_slice(labels, labels.len(), z.device())?;
        let idx = index_tensor(indices, z.device())?;
        let seeds =
            BatchProvenance::seed_tensor(&vec![NO_AUGMENTATION; indices.len()], z.device())?;
        let provenance = BatchProvenance {
            dataset_indices: &idx,
            augmentation_seeds: &seeds,
        };
        x.memory_mut()
            .refill(&z.detach(), &y, Some(&provenance))
            .map_err(TrainError::from)
    }

    /// The loss of iteration `t` for the batch embeddings `z (b × d)` of images `indices` with
    /// `labels`, each image augmented with its seed in `augmentation_seeds`; updates the memory.
    pub fn step(
        &mut self,
        z: &Tensor,
        labels: &[i64],
        indices: &[usize],
        t: usize,
        augmentation_seeds: &[u64],
    ) -> Result<LossTerms> {
        let y = Tensor::from_slice(labels, labels.len(), z.device())?;
        match &mut self.kind {
            Kind::Plain(loss) => {
                let batch = loss.forward(z, &y, z, &y, RefSet::SameAsAnchors)?;
                Ok(LossTerms {
                    batch: batch.detach(),
                    total: batch,
                    memory: None,
                })
            }
            Kind::Xbm(x) => {
                let at = x.memory().iteration();
                if at != t as u64 {
                    return Err(TrainError::MemoryOutOfStep {
                        memory: at,
                        trainer: t,
                    });
                }
                // Provenance (an upload of the batch's indices and seeds) only when the memory
                // keeps it.
                let uploaded = match x.memory().settings().provenance {
                    true => Some((
                        index_tensor(indices, z.device())?,
                        BatchProvenance::seed_tensor(augmentation_seeds, z.device())?,
                    )),
                    false => None,
                };
                let provenance = uploaded.as_ref().map(|(idx, seeds)| BatchProvenance {
                    dataset_indices: idx,
                    augmentation_seeds: seeds,
                });
                let terms = x.forward_with_provenance(z, &y, provenance.as_ref())?;
                let weight = x.weight();
                Ok(LossTerms {
                    batch: terms.batch.detach(),
                    total: terms.total,
                    memory: terms
                        .memory
                        .map(|m| m.detach().affine(weight, 0.0))
                        .transpose()?,
                })
            }
        }
    }

    /// The memory's whole state (queue, iteration, matcher, provenance) as `memory.*`.
    pub fn state(&self) -> Result<Vec<(&'static str, HashMap<String, Tensor>)>> {
        match self.memory() {
            Some(m) => Ok(vec![("memory", m.to_tensors("")?)]),
            None => Ok(Vec::new()),
        }
    }

    /// Restores what [`Objective::state`] saved (`part(prefix)` gives each part of a checkpoint
    /// of `iteration`). Checkpoints of earlier versions (`memory.*` without `iteration`, the
    /// filter state in `norm.*`, provenance in `ledger.*`) are converted.
    pub fn load_state(
        &mut self,
        part: impl Fn(&str) -> HashMap<String, Tensor>,
        iteration: usize,
        device: &Device,
    ) -> Result<()> {
        let Kind::Xbm(x) = &mut self.kind else {
            return Ok(());
        };
        let mut state = part("memory");
        if !state.contains_key("iteration") {
            let tracked = x.memory().settings().provenance;
            state = legacy_memory_state(state, &part("norm"), &part("ledger"), iteration, tracked)?;
        }
        x.memory_mut()
            .load_tensors(&state, "", device)
            .map_err(TrainError::from)
    }
}

/// Dataset indices as an `(n,)` `i64` tensor on `device`.
fn index_tensor(indices: &[usize], device: &Device) -> Result<Tensor> {
    let v: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Ok(Tensor::from_vec(v, indices.len(), device)?)
}
