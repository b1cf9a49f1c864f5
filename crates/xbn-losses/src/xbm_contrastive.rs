//! XBM's contrastive loss (Wang et al., CVPR 2020).

use candle_core::{D, DType, Tensor};

use crate::const_matmul::matmul_const_refs;
use crate::pairs::{check_finite, validate_except_refs_finite};
use crate::xbm_contrastive_fused::{PairRule, fused_per_anchor, inv_row_norms};
use crate::{Distance, LossError, MetricLoss, PairInput, Pairs, Reduction, RefSet, Refs, Result};

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
///
/// On the CPU the per-anchor terms and their gradient `∂ℓ_i/∂S` come from one fused pass over
/// `S` (same values and gradients as the generic tensor path used on other devices).
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
        if input.anchors.device().is_cpu() {
            return self.loss_fused(input);
        }
        self.loss_generic(input)
    }
}

impl XbmContrastiveLoss {
    /// The op-by-op tensor path (any device).
    pub fn loss_generic(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let pairs = Pairs::new(input, Distance::Cosine)?;
        let s = &pairs.sim;
        let pos = s.affine(-1.0, 1.0)?.relu()?.mul(&pairs.pos)?;
        let hard = s.gt(self.lambda)?.to_dtype(s.dtype())?.mul(&pairs.neg)?;
        let per_anchor = pos.add(&s.mul(&hard)?)?.sum(D::Minus1)?;
        self.reduction.reduce(&per_anchor, None)
    }

    /// The CPU path: `S` by one matmul, then one fused pass computing `ℓ_i` (forward) and
    /// `∂ℓ_i/∂S` (backward). Fails on non-CPU devices; [`MetricLoss::loss`] picks the path.
    pub fn loss_fused(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let (b, m) = validate_except_refs_finite(input)?;
        let same = input.ref_set == RefSet::SameAsAnchors;
        let exclude = match input.exclude {
            Some(ex) if ex.dims() != [b, m] => {
                return Err(LossError::MaskShape {
                    expected: vec![b, m],
                    got: ex.dims().to_vec(),
                });
            }
            Some(ex) => {
                let ex = if ex.dtype() == DType::U8 {
                    ex.clone()
                } else {
                    ex.ne(0.0)?
                };
                Some(ex.flatten_all()?.to_vec1::<u8>()?)
            }
            None => None,
        };
        let (sim, col_scale) = if same {
            let sim = Distance::Cosine.matrix(input.anchors, input.anchors, Refs::Same)?;
            (sim, None)
        } else {
            // S = Â R̂ᵀ as (Â Rᵀ)·diag(1/‖r_j‖): one read pass over the memory for the norms
            // (which also detects NaN/±Inf) instead of normalizing it and checking it.
            let refs = input.refs.detach();
            let (inv, finite) = inv_row_norms(&refs)?;
            if !finite {
                check_finite("refs", &refs)?;
            }
            let a = xbn_core::l2_normalize_rows(input.anchors)?;
            (matmul_const_refs(&a, &refs)?, Some(inv))
        };
        let labels = |t: &Tensor| -> Result<Vec<i64>> { Ok(t.to_dtype(DType::I64)?.to_vec1()?) };
        let anchor_labels = labels(input.anchor_labels)?;
        let ref_labels = if same {
            anchor_labels.clone()
        } else {
            labels(input.ref_labels)?
        };
        let rule = PairRule {
            anchor_labels,
            ref_labels,
            exclude,
            same,
            lambda: self.lambda,
            col_scale,
        };
        let per_anchor = fused_per_anchor(&sim, rule)?;
        self.reduction.reduce(&per_anchor, None)
    }
}
