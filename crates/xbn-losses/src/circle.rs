//! PML's `CircleLoss` (Sun et al., CVPR 2020), pair-wise labels.

use candle_core::{D, Tensor};

use crate::ops::masked_logsumexp;
use crate::softplus::softplus;
use crate::{Distance, LossError, MetricLoss, PairInput, Pairs, Reduction, Result};

/// Circle loss on cosine similarities `S`. With `O_p = 1 + m`, `O_n = −m`, `Δ_p = 1 − m`,
/// `Δ_n = m` and the weights `[O_p − s]₊`, `[s − O_n]₊` treated as constants (detached):
///
/// `ℓ_i = softplus( log Σ_{j ∈ P_i} e^{−γ [O_p − S_ij]₊ (S_ij − Δ_p)} + log Σ_{k ∈ N_i} e^{γ [S_ik − O_n]₊ (S_ik − Δ_n)} )`
///
/// and `ℓ_i = 0` for anchors without a positive or without a negative.
///
/// Defaults equal PML's `CircleLoss()`: `m = 0.4`, `γ = 80`, [`Reduction::AvgNonZero`] over
/// anchors. Cosine similarity only (as PML). As PML's `GenericPairLoss`, the loss is 0 when
/// there is at most one positive and at most one negative pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CircleLoss {
    /// Relaxation margin `m`.
    pub m: f64,
    /// Scale `γ`.
    pub gamma: f64,
    /// Reduction over anchors.
    pub reduction: Reduction,
}

impl Default for CircleLoss {
    fn default() -> Self {
        Self {
            m: 0.4,
            gamma: 80.0,
            reduction: Reduction::AvgNonZero,
        }
    }
}

impl CircleLoss {
    /// `CircleLoss(m, gamma)` with PML's default reduction.
    pub fn new(m: f64, gamma: f64) -> Result<Self> {
        if !(m.is_finite() && gamma.is_finite() && gamma > 0.0) {
            return Err(LossError::InvalidConfig(format!(
                "circle loss needs finite m and γ > 0, got m = {m}, γ = {gamma}"
            )));
        }
        Ok(Self {
            m,
            gamma,
            ..Self::default()
        })
    }
}

impl MetricLoss for CircleLoss {
    fn name(&self) -> &'static str {
        "circle"
    }

    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let pairs = Pairs::new(input, Distance::Cosine)?;
        let s = &pairs.sim;
        if pairs.pml_too_few_pairs()? {
            return Ok(s.sum_all()?.affine(0.0, 0.0)?);
        }
        let (m, g) = (self.m, self.gamma);
        let sd = s.detach();
        let wp = sd.affine(-1.0, 1.0 + m)?.relu()?;
        let wn = sd.affine(1.0, m)?.relu()?;
        let xp = s.affine(1.0, -(1.0 - m))?.mul(&wp)?.affine(-g, 0.0)?;
        let xn = s.affine(1.0, -m)?.mul(&wn)?.affine(g, 0.0)?;
        let lp = masked_logsumexp(&xp, &pairs.pos, false)?;
        let ln = masked_logsumexp(&xn, &pairs.neg, false)?;
        let both = pairs
            .pos
            .max_keepdim(D::Minus1)?
            .mul(&pairs.neg.max_keepdim(D::Minus1)?)?
            .squeeze(D::Minus1)?;
        let losses = softplus(&lp.add(&ln)?)?.mul(&both)?;
        self.reduction.reduce(&losses, None)
    }
}
