//! The interface every ranking loss implements.

use candle_core::{Tensor, Var};

use crate::{PairInput, RefSet, Result};

/// A pair-based ranking loss `ℓ(A, R)` over anchors `A` and references `R`.
///
/// The returned scalar is differentiable w.r.t. the anchors through candle's autograd
/// (`loss.backward()`); references given with [`RefSet::Other`] are detached.
pub trait MetricLoss: Send + Sync {
    /// Short name of the loss, e.g. `"contrastive"`.
    fn name(&self) -> &'static str;

    /// Computes the loss for one [`PairInput`] (with an optional mask of excluded pairs).
    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor>;

    /// `ℓ(A, R)`: anchors `(b × d)` and their labels `(b,)`, references `(m × d)` and their
    /// labels `(m,)`. With [`RefSet::SameAsAnchors`] pass the anchors again as references.
    fn forward(
        &self,
        anchors: &Tensor,
        anchor_labels: &Tensor,
        refs: &Tensor,
        ref_labels: &Tensor,
        ref_set: RefSet,
    ) -> Result<Tensor> {
        self.loss(&PairInput {
            anchors,
            anchor_labels,
            refs,
            ref_labels,
            ref_set,
            exclude: None,
        })
    }

    /// Learnable parameters of the loss (proxy-anchor's proxies), for the trainer's optimizer.
    fn parameters(&self) -> Vec<Var> {
        Vec::new()
    }

    /// Fails when a call with `anchors` anchors and `refs` references would be refused for its
    /// size (all-triplet mining); lets [`crate::XbmLoss`] refuse before touching the memory.
    fn check_sizes(&self, anchors: usize, refs: usize) -> Result<()> {
        let _ = (anchors, refs);
        Ok(())
    }

    /// False for losses that compare anchors with their own parameters rather than with a
    /// reference set (proxy-anchor): [`crate::XbmLoss`] then skips the memory term.
    fn uses_references(&self) -> bool {
        true
    }
}
