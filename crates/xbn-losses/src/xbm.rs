//! `XbmLoss`: a ranking loss on the batch plus the same loss against the cross-batch memory.

use candle_core::{Tensor, Var};
use xbn_core::MomentMatcher;
use xbn_memory::{BatchProvenance, CrossBatchMemory};

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

/// Cross-batch memory loss (XBM, and XBN/AXBN through the memory's moment matcher), spec
/// equation `L_t = ℓ(Z_t, Z_t) + w · ℓ(Z_t, M̂_t)`.
///
/// One [`XbmLoss::forward`] call per iteration `t` (the memory counts `t` from 0) does, in the
/// spec's order (that of XBM's code and PML's `CrossBatchMemory`):
/// 1. validate the batch (on error nothing changes) and compute `ℓ(Z_t, Z_t)`
///    ([`RefSet::SameAsAnchors`]);
/// 2. [`CrossBatchMemory::update`] with the detached batch: adapt the stored entries with the
///    matcher (`M ← M̂`; [`xbn_core::Identity`] for plain XBM);
/// 3. in the same call, enqueue the batch per the fill policy, `t ← t + 1`;
/// 4. if the memory was active (`t ≥ t_start`): `ℓ(Z_t, M̂_t)` over all stored entries
///    ([`RefSet::Other`], no gradient into the memory), excluding each anchor's own copy
///    ([`CrossBatchMemory::own_copy_mask`]); the rest of the current batch stays in the memory
///    as in PML.
///
/// Anchors without a positive in the memory contribute whatever the loss gives them without
/// positives (documented per loss: negative terms only for contrastive/multi-similarity, nothing
/// for circle/triplet). Losses that do not use references (proxy-anchor) get no memory term.
/// The returned tensors keep references to the memory's storage: run `backward` before the next
/// `forward`.
pub struct XbmLoss<M: MomentMatcher = Box<dyn MomentMatcher>> {
    loss: Box<dyn MetricLoss>,
    memory: CrossBatchMemory<M>,
    weight: f64,
}

impl<M: MomentMatcher> XbmLoss<M> {
    /// Combines `loss`, the `memory` (with its matcher, `t_start` and fill policy) and the memory
    /// weight `w` (finite, ≥ 0).
    pub fn new(
        loss: Box<dyn MetricLoss>,
        memory: CrossBatchMemory<M>,
        weight: f64,
    ) -> Result<Self> {
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(LossError::InvalidConfig(format!(
                "memory weight w must be finite and >= 0, got {weight}"
            )));
        }
        Ok(Self {
            loss,
            memory,
            weight,
        })
    }

    /// One training iteration: see the type's documentation for the order of operations.
    pub fn forward(&mut self, batch: &Tensor, labels: &Tensor) -> Result<XbmTerms> {
        self.forward_with_provenance(batch, labels, None)
    }

    /// [`XbmLoss::forward`] that also records where the batch's rows came from, for a memory
    /// that keeps per-entry provenance.
    pub fn forward_with_provenance(
        &mut self,
        batch: &Tensor,
        labels: &Tensor,
        provenance: Option<&BatchProvenance<'_>>,
    ) -> Result<XbmTerms> {
        let (b, d) = check_embeddings("batch", batch)?;
        check_labels("labels", labels, b)?;
        check_finite("batch", batch)?;
        if d != self.memory.queue().dim() {
            return Err(LossError::DimMismatch {
                anchors: batch.dims().to_vec(),
                refs: vec![self.memory.capacity(), self.memory.queue().dim()],
            });
        }
        let memory_on = self.memory.is_active() && self.loss.uses_references();
        if memory_on {
            let m_after = (self.memory.len() + b).min(self.memory.capacity());
            self.loss.check_sizes(b, m_after)?;
        }
        let batch_term = self
            .loss
            .forward(batch, labels, batch, labels, RefSet::SameAsAnchors)?;
        self.memory.update(&batch.detach(), labels, provenance)?;
        if !memory_on {
            return Ok(XbmTerms {
                total: batch_term.clone(),
                batch: batch_term,
                memory: None,
            });
        }
        let (refs, ref_labels) = self.memory.references();
        let refs = refs.to_dtype(batch.dtype())?;
        let exclude = self.memory.own_copy_mask(b)?;
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

    /// The memory (e.g. to checkpoint it with [`CrossBatchMemory::to_tensors`]).
    pub fn memory(&self) -> &CrossBatchMemory<M> {
        &self.memory
    }

    /// Mutable access to the memory (e.g. XBM's warm start, [`CrossBatchMemory::refill`], or
    /// restoring a checkpoint).
    pub fn memory_mut(&mut self) -> &mut CrossBatchMemory<M> {
        &mut self.memory
    }

    /// The memory weight `w`.
    pub fn weight(&self) -> f64 {
        self.weight
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
