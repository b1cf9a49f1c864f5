//! PML's `NTXentLoss`: supervised NT-Xent / InfoNCE.

use candle_core::{D, Tensor};

use crate::ops::masked_logsumexp;
use crate::softplus::softplus;
use crate::{Distance, MetricLoss, PairInput, Pairs, Reduction, Result};

/// Supervised NT-Xent (InfoNCE) over positive pairs, with temperature `τ`. For each positive
/// pair `(i, j)`, with `x = S/τ` (similarity) or `x = −d/τ` (distance):
///
/// `ℓ_ij = −log( e^{x_ij} / (e^{x_ij} + Σ_{k ∈ N_i} e^{x_ik}) ) = softplus( log Σ_{k ∈ N_i} e^{x_ik} − x_ij )`
///
/// Pairs of anchors without negatives have `ℓ_ij = 0` but still count in the mean; the loss is 0
/// when the call has no positive or no negative pair.
///
/// Defaults equal PML's `NTXentLoss()`: `τ = 0.07`, `Distance::Cosine`, [`Reduction::Mean`]
/// over positive pairs. As PML's `GenericPairLoss`, the loss is 0 when there is at most one
/// positive and at most one negative pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NtXentLoss {
    /// Temperature `τ`.
    pub temperature: f64,
    /// Distance between anchors and references.
    pub distance: Distance,
    /// Reduction over positive pairs.
    pub reduction: Reduction,
}

impl Default for NtXentLoss {
    fn default() -> Self {
        Self {
            temperature: 0.07,
            distance: Distance::Cosine,
            reduction: Reduction::Mean,
        }
    }
}

impl NtXentLoss {
    /// `NTXentLoss(temperature)` with PML's defaults otherwise.
    pub fn new(temperature: f64) -> Self {
        Self {
            temperature,
            ..Self::default()
        }
    }
}

impl MetricLoss for NtXentLoss {
    fn name(&self) -> &'static str {
        "ntxent"
    }

    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let pairs = Pairs::new(input, self.distance)?;
        let s = &pairs.sim;
        let (np, nn) = pairs.counts()?;
        if np == 0.0 || nn == 0.0 || (np <= 1.0 && nn <= 1.0) {
            return Ok(s.sum_all()?.affine(0.0, 0.0)?);
        }
        let scale = if pairs.inverted { 1.0 } else { -1.0 } / self.temperature;
        let x = s.affine(scale, 0.0)?;
        let lse_neg = masked_logsumexp(&x, &pairs.neg, false)?.unsqueeze(1)?;
        let has_neg = pairs.neg.max_keepdim(D::Minus1)?;
        let losses = softplus(&lse_neg.broadcast_sub(&x)?)?
            .broadcast_mul(&has_neg)?
            .mul(&pairs.pos)?;
        self.reduction.reduce(&losses, Some(&pairs.pos))
    }
}
