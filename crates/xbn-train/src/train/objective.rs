//! The training objective of one iteration, xbn-losses' [`XbmLoss`] (spec, "XBM"):
//! `L_t = ℓ(Z_t, Z_t) + w · ℓ(Z_t, M̂_t)` for `t ≥ t_start`, else `ℓ(Z_t, Z_t)`; each iteration
//! (1) adapts the stored entries with the moment matcher (identity, XBN or AXBN; the adapted
//! memory replaces the stored one), (2) enqueues `Z_t` (detached) into xbn-memory's
//! [`EmbeddingQueue`], (3) computes `ℓ(Z_t, M̂_t)` with each anchor's own copy excluded.
//! The trainer adds the side table of the memory ([`MemoryLedger`]) and checkpointing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Tensor};
use xbn_core::{
    AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, Identity, MomentMatcher, XbnConfig,
};
use xbn_losses::{MetricLoss, RefSet, XbmLoss};
use xbn_memory::EmbeddingQueue;

use super::ledger::MemoryLedger;
use super::shared_matcher::SharedAxbn;
use crate::config::{NormKind, TrainConfig};
use crate::error::{Result, TrainError};
use crate::outputs::metrics::ShiftRecord;

fn loss_err(e: xbn_losses::LossError) -> TrainError {
    TrainError::component("loss", e)
}

fn memory_err(e: xbn_memory::MemoryError) -> TrainError {
    TrainError::component("memory", e)
}

/// Loss terms of one iteration.
#[derive(Debug, Clone)]
pub struct LossTerms {
    /// `L_t`, differentiable w.r.t. the batch embeddings.
    pub total: Tensor,
    /// `ℓ(Z, Z)`.
    pub batch: f64,
    /// `w · ℓ(Z, M̂)`, when the memory term is on.
    pub memory: Option<f64>,
}

/// The loss with or without a memory (`memory.size = 0`).
enum Kind {
    Plain(Box<dyn MetricLoss>),
    Xbm(Box<XbmLoss>),
}

/// Loss, memory, moment matcher and the memory's side table.
pub struct Objective {
    kind: Kind,
    axbn: Option<SharedAxbn>,
    ledger: MemoryLedger,
    weight: f64,
    t_start: usize,
}

impl Objective {
    /// The objective of `cfg` on `device`.
    pub fn new(cfg: &TrainConfig, loss: Box<dyn MetricLoss>, device: &Device) -> Result<Self> {
        let d = cfg.model.embedding_dim;
        let mut axbn = None;
        let kind = if cfg.memory.size == 0 {
            Kind::Plain(loss)
        } else {
            let matcher: Box<dyn MomentMatcher + Send> = match cfg.norm.kind {
                NormKind::None => Box::new(Identity),
                NormKind::Xbn => Box::new(CrossBatchNorm::new(XbnConfig {
                    eps: cfg.norm.eps,
                    renormalize: cfg.norm.renormalize,
                })?),
                NormKind::Axbn => {
                    let a = SharedAxbn(Arc::new(Mutex::new(AdaptiveCrossBatchNorm::new(
                        AxbnConfig {
                            eps: cfg.norm.eps,
                            renormalize: cfg.norm.renormalize,
                            drift_rate: cfg.norm.q,
                            ..AxbnConfig::default()
                        },
                    )?)));
                    axbn = Some(a.clone());
                    Box::new(a)
                }
            };
            let queue =
                EmbeddingQueue::new(cfg.memory.size, d, DType::F32, device).map_err(memory_err)?;
            Kind::Xbm(Box::new(
                XbmLoss::new(
                    loss,
                    queue,
                    matcher,
                    cfg.memory.weight,
                    cfg.memory.t_start as u64,
                )
                .map_err(loss_err)?,
            ))
        };
        Ok(Self {
            kind,
            axbn,
            ledger: MemoryLedger::new(cfg.memory.size, d),
            weight: cfg.memory.weight,
            t_start: cfg.memory.t_start,
        })
    }

    /// Whether iteration `t` uses the memory term.
    pub fn memory_on(&self, t: usize) -> bool {
        matches!(self.kind, Kind::Xbm(_)) && t >= self.t_start
    }

    /// Entries in the memory.
    pub fn memory_fill(&self) -> usize {
        match &self.kind {
            Kind::Xbm(x) => x.memory().len(),
            Kind::Plain(_) => 0,
        }
    }

    /// The moments' shift of the last adaptation.
    pub fn last_shift(&self) -> Option<ShiftRecord> {
        let Kind::Xbm(x) = &self.kind else {
            return None;
        };
        x.matcher().last_shift().map(|s| ShiftRecord {
            mean: s.mean,
            log_std: s.log_std,
        })
    }

    /// The side table (dataset index and as-enqueued embedding of every entry, oldest first).
    pub fn ledger(&self) -> &MemoryLedger {
        &self.ledger
    }

    /// The queue row holding FIFO position `p` (0 = oldest).
    fn slot(queue: &EmbeddingQueue, p: usize) -> usize {
        if queue.is_full() {
            (queue.write_position() + p) % queue.capacity()
        } else {
            p
        }
    }

    /// The current (adapted) memory rows at FIFO `positions` (0 = oldest).
    pub fn memory_rows(&self, positions: &[usize]) -> Result<Tensor> {
        let Kind::Xbm(x) = &self.kind else {
            return Err(TrainError::Component {
                what: "memory",
                message: "no memory (memory.size = 0)".into(),
            });
        };
        let q = x.memory();
        let slots: Vec<u32> = positions.iter().map(|&p| Self::slot(q, p) as u32).collect();
        let idx = Tensor::from_vec(slots, positions.len(), q.device())?;
        Ok(q.embeddings().index_select(&idx, 0)?)
    }

    /// Replaces the memory content (warm start at iteration `t`) by `z (n × d)` of images
    /// `indices`.
    pub fn fill(&mut self, z: &Tensor, labels: &[i64], indices: &[usize], t: usize) -> Result<()> {
        let Kind::Xbm(x) = &mut self.kind else {
            return Ok(());
        };
        let y = Tensor::from_slice(labels, labels.len(), z.device())?;
        let q = x.memory_mut();
        q.clear();
        q.enqueue(&z.detach(), &y, t as u64).map_err(memory_err)?;
        self.ledger.clear();
        self.ledger.push(indices, z)
    }

    /// The loss of iteration `t` for the batch embeddings `z (b × d)` of images `indices`
    /// with `labels`; updates the memory.
    pub fn step(
        &mut self,
        z: &Tensor,
        labels: &[i64],
        indices: &[usize],
        t: usize,
    ) -> Result<LossTerms> {
        let y = Tensor::from_slice(labels, labels.len(), z.device())?;
        let scalar =
            |t: &Tensor| -> Result<f64> { Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?) };
        match &mut self.kind {
            Kind::Plain(loss) => {
                let batch = loss
                    .forward(z, &y, z, &y, RefSet::SameAsAnchors)
                    .map_err(loss_err)?;
                Ok(LossTerms {
                    batch: scalar(&batch)?,
                    total: batch,
                    memory: None,
                })
            }
            Kind::Xbm(x) => {
                x.set_iteration(t as u64);
                let terms = x.forward(z, &y).map_err(loss_err)?;
                self.ledger.push(indices, &z.detach())?;
                let memory = terms
                    .memory
                    .as_ref()
                    .map(|m| scalar(m).map(|v| v * self.weight))
                    .transpose()?;
                Ok(LossTerms {
                    batch: scalar(&terms.batch)?,
                    total: terms.total,
                    memory,
                })
            }
        }
    }

    /// Memory, side table and AXBN filter state as named tensors (`memory.*`, `ledger.*`,
    /// `norm.*` once prefixed by the checkpoint).
    pub fn state(&self) -> Result<Vec<(&'static str, HashMap<String, Tensor>)>> {
        let mut parts = vec![("ledger", self.ledger.state()?)];
        if let Kind::Xbm(x) = &self.kind {
            parts.push(("memory", x.memory().to_tensors("").map_err(memory_err)?));
        }
        if let Some(a) = &self.axbn {
            parts.push(("norm", a.with(|m| m.state_tensors(""))??));
        }
        Ok(parts)
    }

    /// Restores what [`Objective::state`] saved (`part(prefix)` gives each part).
    pub fn load_state(
        &mut self,
        part: impl Fn(&str) -> HashMap<String, Tensor>,
        device: &Device,
    ) -> Result<()> {
        if let Kind::Xbm(x) = &mut self.kind {
            let q =
                EmbeddingQueue::from_tensors(&part("memory"), "", device).map_err(memory_err)?;
            *x.memory_mut() = q;
        }
        self.ledger.load_state(&part("ledger"))?;
        if let Some(a) = &self.axbn {
            a.with(|m| m.load_state_tensors(&part("norm"), "", device))??;
        }
        Ok(())
    }
}
