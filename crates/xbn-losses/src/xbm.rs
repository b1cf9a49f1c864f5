//! `XbmLoss`: a ranking loss on the batch plus the same loss against the cross-batch memory.

use candle_core::{DType, Tensor, Var};
use xbn_core::MomentMatcher;
use xbn_memory::EmbeddingQueue;

use crate::pairs::{check_embeddings, check_finite, check_labels};
use crate::{LossError, MetricLoss, PairInput, RefSet, Result};

/// The loss terms of one [`XbmLoss::forward`] call.
#[derive(Debug, Clone)]
pub struct XbmTerms {
    /// `L_t = ℓ(Z_t, Z_t) + w · ℓ(Z_t, M̂_t)` (the batch term alone before `t_start`).
    pub total: Tensor,
    /// `ℓ(Z_t, Z_t)`.
    pub batch: Tensor,
    /// `ℓ(Z_t, M̂_t)`, unweighted; `None` during warm-up or for losses without references.
    pub memory: Option<Tensor>,
}

/// Cross-batch memory loss (XBM, and XBN/AXBN through the moment matcher), spec equation
/// `L_t = ℓ(Z_t, Z_t) + w · ℓ(Z_t, M̂_t)`.
///
/// One [`XbmLoss::forward`] call per iteration `t` (counted from 0) does, in the spec's order
/// (that of XBM's code and PML's `CrossBatchMemory`):
/// 1. validate the batch (on error nothing changes) and compute `ℓ(Z_t, Z_t)`
///    ([`RefSet::SameAsAnchors`]);
/// 2. adapt the stored entries with the matcher and the detached batch, `M ← M̂`
///    ([`xbn_core::Identity`] for plain XBM);
/// 3. enqueue the detached batch (labels, iteration `t`), dropping the oldest entries;
/// 4. if `t ≥ t_start`: `ℓ(Z_t, M̂_t)` over all stored entries ([`RefSet::Other`], no gradient
///    into the memory), excluding each anchor's own copy (the rows of
///    [`EmbeddingQueue::last_enqueued_rows`]); the rest of the current batch stays in the memory
///    as in PML.
///
/// During warm-up (`t < t_start`) steps 2–3 still run, so the memory is full when its term starts;
/// PML has no warm-up (it is `t_start = 0`). Anchors without a positive in the memory contribute
/// whatever the loss gives them without positives (documented per loss: negative terms only for
/// contrastive/multi-similarity, nothing for circle/triplet). Losses that do not use references
/// (proxy-anchor) get no memory term. The returned tensors keep references to the memory's
/// storage: run `backward` before the next `forward`.
pub struct XbmLoss {
    loss: Box<dyn MetricLoss>,
    memory: EmbeddingQueue,
    matcher: Box<dyn MomentMatcher + Send>,
    weight: f64,
    t_start: u64,
    iteration: u64,
}

impl XbmLoss {
    /// Combines `loss`, the (usually empty) `memory`, a moment `matcher`, the memory weight `w`
    /// (finite, ≥ 0) and the warm-up length `t_start`.
    pub fn new(
        loss: Box<dyn MetricLoss>,
        memory: EmbeddingQueue,
        matcher: Box<dyn MomentMatcher + Send>,
        weight: f64,
        t_start: u64,
    ) -> Result<Self> {
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(LossError::InvalidConfig(format!(
                "memory weight w must be finite and >= 0, got {weight}"
            )));
        }
        Ok(Self {
            loss,
            memory,
            matcher,
            weight,
            t_start,
            iteration: 0,
        })
    }

    /// One training iteration: see the type's documentation for the order of operations.
    pub fn forward(&mut self, batch: &Tensor, labels: &Tensor) -> Result<XbmTerms> {
        let (b, d) = check_embeddings("batch", batch)?;
        check_labels("labels", labels, b)?;
        check_finite("batch", batch)?;
        if d != self.memory.dim() {
            return Err(LossError::DimMismatch {
                anchors: batch.dims().to_vec(),
                refs: vec![self.memory.capacity(), self.memory.dim()],
            });
        }
        let memory_on = self.iteration >= self.t_start && self.loss.uses_references();
        if memory_on {
            let m_after = (self.memory.len() + b).min(self.memory.capacity());
            self.loss.check_sizes(b, m_after)?;
        }
        let batch_term = self
            .loss
            .forward(batch, labels, batch, labels, RefSet::SameAsAnchors)?;
        let detached = batch.detach();
        self.memory.adapt(self.matcher.as_mut(), &detached)?;
        self.memory.enqueue(&detached, labels, self.iteration)?;
        self.iteration += 1;
        if !memory_on {
            return Ok(XbmTerms {
                total: batch_term.clone(),
                batch: batch_term,
                memory: None,
            });
        }
        let refs = self.memory.embeddings().to_dtype(batch.dtype())?;
        let ref_labels = self.memory.labels();
        let exclude = self.own_copies(b, refs.dims()[0])?;
        let memory_term = self.loss.loss(&PairInput {
            anchors: batch,
            anchor_labels: labels,
            refs: &refs,
            ref_labels: &ref_labels,
            ref_set: RefSet::Other,
            exclude: Some(&exclude),
        })?;
        let total = batch_term.add(&memory_term.affine(self.weight, 0.0)?)?;
        Ok(XbmTerms {
            total,
            batch: batch_term,
            memory: Some(memory_term),
        })
    }

    /// `(b × m)` u8 mask, 1 at (anchor i, memory row of anchor i's own copy).
    fn own_copies(&self, b: usize, m: usize) -> Result<Tensor> {
        let rows: Vec<u32> = self
            .memory
            .last_enqueued_rows()
            .iter()
            .map(|r| r.map_or(m as u32, |r| r as u32))
            .collect();
        let dev = self.memory.device();
        let rows = Tensor::from_vec(rows, b, dev)?;
        let cols = Tensor::arange(0u32, m as u32, dev)?;
        Ok(rows
            .unsqueeze(1)?
            .broadcast_eq(&cols.unsqueeze(0)?)?
            .to_dtype(DType::U8)?)
    }

    /// The memory (e.g. to checkpoint it).
    pub fn memory(&self) -> &EmbeddingQueue {
        &self.memory
    }

    /// Mutable access to the memory (e.g. XBM's warm start: refill it after the warm-up).
    pub fn memory_mut(&mut self) -> &mut EmbeddingQueue {
        &mut self.memory
    }

    /// The moment matcher (e.g. to checkpoint adaptive XBN's filter state).
    pub fn matcher(&self) -> &(dyn MomentMatcher + Send) {
        self.matcher.as_ref()
    }

    /// The next iteration index `t`.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Sets the next iteration index (when resuming from a checkpoint).
    pub fn set_iteration(&mut self, t: u64) {
        self.iteration = t;
    }

    /// The memory weight `w`.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// The warm-up length `t_start`.
    pub fn t_start(&self) -> u64 {
        self.t_start
    }

    /// The wrapped loss.
    pub fn loss(&self) -> &dyn MetricLoss {
        self.loss.as_ref()
    }

    /// Learnable parameters of the wrapped loss.
    pub fn parameters(&self) -> Vec<Var> {
        self.loss.parameters()
    }
}
