//! PML's `MultiSimilarityLoss` (Wang et al., CVPR 2019).

use candle_core::Tensor;

use crate::ops::masked_logsumexp;
use crate::{Distance, MetricLoss, MultiSimilarityMiner, PairInput, Pairs, Reduction, Result};

/// Multi-similarity loss. Per anchor `i`, with similarities `S`:
///
/// `ℓ_i = (1/α) log(1 + Σ_{j ∈ P_i} e^{−α (S_ij − base)}) + (1/β) log(1 + Σ_{k ∈ N_i} e^{β (S_ik − base)})`
///
/// (for a distance, `S − base` becomes `base − d`). Anchors without positives (negatives)
/// have a zero positive (negative) term. With `miner` set, `P`/`N` are first reduced by
/// [`MultiSimilarityMiner`].
///
/// Defaults equal PML's `MultiSimilarityLoss()`: `α = 2`, `β = 50`, `base = 0.5`,
/// `Distance::Cosine`, [`Reduction::Mean`] over anchors (PML's `MeanReducer`), no miner
/// (the XBM setup uses `MultiSimilarityMiner(ε = 0.1)`: see [`MultiSimilarityLoss::with_miner`]).
/// As PML's `GenericPairLoss`, the loss is 0 when there is at most one positive and at most one
/// negative pair (after mining).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiSimilarityLoss {
    /// Positive scale `α`.
    pub alpha: f64,
    /// Negative scale `β`.
    pub beta: f64,
    /// Similarity offset `base` (`λ` in the paper).
    pub base: f64,
    /// Optional pair miner.
    pub miner: Option<MultiSimilarityMiner>,
    /// Distance between anchors and references.
    pub distance: Distance,
    /// Reduction over anchors.
    pub reduction: Reduction,
}

impl Default for MultiSimilarityLoss {
    fn default() -> Self {
        Self {
            alpha: 2.0,
            beta: 50.0,
            base: 0.5,
            miner: None,
            distance: Distance::Cosine,
            reduction: Reduction::Mean,
        }
    }
}

impl MultiSimilarityLoss {
    /// `MultiSimilarityLoss(alpha, beta, base)` with PML's defaults otherwise.
    pub fn new(alpha: f64, beta: f64, base: f64) -> Self {
        Self {
            alpha,
            beta,
            base,
            ..Self::default()
        }
    }

    /// Same loss with the multi-similarity miner.
    pub fn with_miner(mut self, miner: MultiSimilarityMiner) -> Self {
        self.miner = Some(miner);
        self
    }
}

impl MetricLoss for MultiSimilarityLoss {
    fn name(&self) -> &'static str {
        "multi_similarity"
    }

    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let mut pairs = Pairs::new(input, self.distance)?;
        if let Some(miner) = &self.miner {
            pairs = miner.mine(&pairs)?;
        }
        let s = &pairs.sim;
        if pairs.pml_too_few_pairs()? {
            return Ok(s.sum_all()?.affine(0.0, 0.0)?);
        }
        let sign = if pairs.inverted { 1.0 } else { -1.0 };
        // pos exponent: −α·sign·(S − base); neg exponent: β·sign·(S − base).
        let pos_x = s.affine(-self.alpha * sign, self.alpha * sign * self.base)?;
        let neg_x = s.affine(self.beta * sign, -self.beta * sign * self.base)?;
        let pos = masked_logsumexp(&pos_x, &pairs.pos, true)?.affine(1.0 / self.alpha, 0.0)?;
        let neg = masked_logsumexp(&neg_x, &pairs.neg, true)?.affine(1.0 / self.beta, 0.0)?;
        self.reduction.reduce(&pos.add(&neg)?, None)
    }
}
