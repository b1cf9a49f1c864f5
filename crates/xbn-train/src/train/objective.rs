//! The training objective of one iteration (spec, "XBM"):
//! `L_t = ℓ(Z_t, Z_t) + w · ℓ(Z_t, M̂_t)` for `t ≥ t_start`, else `ℓ(Z_t, Z_t)`, with the order
//! of the XBM reference code: (1) adapt the stored entries with the moment matcher (identity,
//! XBN or AXBN; the adapted memory replaces the stored one), (2) enqueue `Z_t` (detached),
//! dropping the oldest entries, (3) `ℓ(Z_t, M̂_t)` over all entries, each anchor's own copy
//! excluded. As in the XBM reference code the memory is filled from `t_start` on.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use xbn_core::{
    AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, Identity, MomentMatcher, XbnConfig,
};
use xbn_losses::{MetricLoss, PairInput, RefSet};

use super::fifo::Fifo;
use super::ledger::MemoryLedger;
use crate::config::{NormKind, TrainConfig};
use crate::error::{Result, TrainError};
use crate::outputs::metrics::ShiftRecord;

fn loss_err(e: xbn_losses::LossError) -> TrainError {
    TrainError::component("loss", e)
}

/// The moment matcher of `norm.kind`.
#[derive(Debug)]
pub enum Matcher {
    /// Plain XBM.
    None(Identity),
    /// Cross batch normalization.
    Xbn(CrossBatchNorm),
    /// Adaptive XBN (Kalman-filtered moments).
    Axbn(AdaptiveCrossBatchNorm),
}

impl Matcher {
    fn as_dyn(&mut self) -> &mut dyn MomentMatcher {
        match self {
            Matcher::None(m) => m,
            Matcher::Xbn(m) => m,
            Matcher::Axbn(m) => m,
        }
    }
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

/// Loss, memory, moment matcher and the memory's side table.
pub struct Objective {
    loss: Box<dyn MetricLoss>,
    matcher: Matcher,
    memory: Fifo,
    ledger: MemoryLedger,
    weight: f64,
    t_start: usize,
    last_shift: Option<ShiftRecord>,
}

impl Objective {
    /// The objective of `cfg` for embeddings of dimension `d`.
    pub fn new(cfg: &TrainConfig, loss: Box<dyn MetricLoss>) -> Result<Self> {
        let d = cfg.model.embedding_dim;
        let matcher = match cfg.norm.kind {
            NormKind::None => Matcher::None(Identity),
            NormKind::Xbn => Matcher::Xbn(CrossBatchNorm::new(XbnConfig {
                eps: cfg.norm.eps,
                renormalize: cfg.norm.renormalize,
            })?),
            NormKind::Axbn => Matcher::Axbn(AdaptiveCrossBatchNorm::new(AxbnConfig {
                eps: cfg.norm.eps,
                renormalize: cfg.norm.renormalize,
                drift_rate: cfg.norm.q,
                ..AxbnConfig::default()
            })?),
        };
        Ok(Self {
            loss,
            matcher,
            memory: Fifo::new(cfg.memory.size, d),
            ledger: MemoryLedger::new(cfg.memory.size, d),
            weight: cfg.memory.weight,
            t_start: cfg.memory.t_start,
            last_shift: None,
        })
    }

    /// Whether iteration `t` uses the memory.
    pub fn memory_on(&self, t: usize) -> bool {
        self.memory.capacity() > 0 && t >= self.t_start
    }

    /// Entries in the memory.
    pub fn memory_fill(&self) -> usize {
        self.memory.len()
    }

    /// The moments' shift of the last adaptation.
    pub fn last_shift(&self) -> Option<ShiftRecord> {
        self.last_shift
    }

    /// The side table (dataset index and as-enqueued embedding of every entry).
    pub fn ledger(&self) -> &MemoryLedger {
        &self.ledger
    }

    /// The current (adapted) memory rows at `positions` (0 = oldest).
    pub fn memory_rows(&self, positions: &[usize]) -> Result<Tensor> {
        self.memory.rows(positions)
    }

    /// Replaces the memory content (warm start) by `z (n × d)` of images `indices`.
    pub fn fill(&mut self, z: &Tensor, labels: &[i64], indices: &[usize]) -> Result<()> {
        self.memory.clear();
        self.ledger.clear();
        self.memory.push(&z.detach(), labels)?;
        self.ledger.push(indices, z)
    }

    /// The loss of iteration `t` for the batch embeddings `z (b × d)` of images `indices`
    /// with `labels`; updates the memory when it is on.
    pub fn step(
        &mut self,
        z: &Tensor,
        labels: &[i64],
        indices: &[usize],
        t: usize,
    ) -> Result<LossTerms> {
        let device = z.device().clone();
        let b = labels.len();
        let y = Tensor::from_slice(labels, b, &device)?;
        let batch = self
            .loss
            .forward(z, &y, z, &y, RefSet::SameAsAnchors)
            .map_err(loss_err)?;
        let batch_value = batch.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if !self.memory_on(t) {
            return Ok(LossTerms {
                total: batch,
                batch: batch_value,
                memory: None,
            });
        }
        let zd = z.detach();
        if let Some(stored) = self.memory.embeddings() {
            let adapted = self.matcher.as_dyn().adapt(&stored, &zd)?;
            self.last_shift = self.matcher.as_dyn().last_shift().map(|s| ShiftRecord {
                mean: s.mean,
                log_std: s.log_std,
            });
            self.memory.replace(adapted)?;
        }
        self.memory.push(&zd, labels)?;
        self.ledger.push(indices, &zd)?;
        let m = self.memory.len();
        let refs = self
            .memory
            .embeddings()
            .ok_or_else(|| TrainError::Component {
                what: "memory",
                message: "memory empty right after enqueue".into(),
            })?;
        let ref_labels = Tensor::from_slice(self.memory.labels(), m, &device)?;
        let exclude = own_copy_mask(b, m, &device)?;
        let mem = self
            .loss
            .loss(&PairInput {
                anchors: z,
                anchor_labels: &y,
                refs: &refs,
                ref_labels: &ref_labels,
                ref_set: RefSet::Other,
                exclude: Some(&exclude),
            })
            .map_err(loss_err)?;
        let mem = mem.affine(self.weight, 0.0)?;
        let mem_value = mem.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        Ok(LossTerms {
            total: (batch + mem)?,
            batch: batch_value,
            memory: Some(mem_value),
        })
    }

    /// Memory, side table and AXBN filter state as named tensors (`memory.*`, `ledger.*`,
    /// `norm.*` once prefixed by the checkpoint).
    pub fn state(&self) -> Result<Vec<(&'static str, HashMap<String, Tensor>)>> {
        let mut parts = vec![
            ("memory", self.memory.state()?),
            ("ledger", self.ledger.state()?),
        ];
        if let Matcher::Axbn(a) = &self.matcher {
            parts.push(("norm", a.state_tensors("")?));
        }
        Ok(parts)
    }

    /// Restores what [`Objective::state`] saved (`part(prefix)` gives each part).
    pub fn load_state(
        &mut self,
        part: impl Fn(&str) -> HashMap<String, Tensor>,
        device: &Device,
    ) -> Result<()> {
        self.memory.load_state(&part("memory"), device)?;
        self.ledger.load_state(&part("ledger"))?;
        if let Matcher::Axbn(a) = &mut self.matcher {
            a.load_state_tensors(&part("norm"), "", device)?;
        }
        Ok(())
    }
}

/// The `(b × m)` mask excluding each anchor's own copy: the batch was enqueued last, so anchor
/// `i` sits at memory row `m − b + i`.
fn own_copy_mask(b: usize, m: usize, device: &Device) -> Result<Tensor> {
    let mut mask = vec![0u8; b * m];
    for i in 0..b.min(m) {
        let row = m - b.min(m) + i;
        mask[i * m + row] = 1;
    }
    Ok(Tensor::from_vec(mask, (b, m), device)?)
}
