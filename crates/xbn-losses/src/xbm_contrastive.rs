//! XBM's contrastive loss (Wang et al., CVPR 2020).

use candle_core::{D, Tensor};

use crate::{Distance, MetricLoss, PairInput, Pairs, Reduction, Result};

/// The contrastive loss of the XBM paper and of the spec, on cosine similarities `S`:
///
/// `ℓ(A,R) = (1/|A|) Σ_i [ Σ_{j ∈ P_i} (1 − S_ij) + Σ_{j ∈ N_i, S_ij > λ} S_ij ]`
///
/// The per-anchor terms `ℓ_i` are reduced with `reduction` (default [`Reduction::Mean`]: the
/// `1/|A|` above, as XBM's code divides by the batch size). Anchors without positives
/// contribute their negative terms only. The positive term is `[1 − S_ij]₊` (equal to `1 − S_ij`
/// for cosine similarities up to rounding). PML equivalent:
/// `ContrastiveLoss(pos_margin=1, neg_margin=λ, distance=CosineSimilarity(), reducer=SumReducer())`
/// divided by `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XbmContrastiveLoss {
    /// Negative margin `λ` (default 0.5).
    pub lambda: f64,
    /// Reduction of the per-anchor terms (default mean over anchors).
    pub reduction: Reduction,
}

impl Default for XbmContrastiveLoss {
    fn default() -> Self {
        Self {
            lambda: 0.5,
            reduction: Reduction::Mean,
        }
    }
}

impl XbmContrastiveLoss {
    /// The loss with margin `λ`.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            ..Self::default()
        }
    }
}

impl MetricLoss for XbmContrastiveLoss {
    fn name(&self) -> &'static str {
        "xbm_contrastive"
    }

    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let pairs = Pairs::new(input, Distance::Cosine)?;
        let s = &pairs.sim;
        let pos = s.affine(-1.0, 1.0)?.relu()?.mul(&pairs.pos)?;
        let hard = s.gt(self.lambda)?.to_dtype(s.dtype())?.mul(&pairs.neg)?;
        let per_anchor = pos.add(&s.mul(&hard)?)?.sum(D::Minus1)?;
        self.reduction.reduce(&per_anchor, None)
    }
}
