//! PML's `ContrastiveLoss(pos_margin, neg_margin)`.

use candle_core::Tensor;

use crate::{Distance, MetricLoss, PairInput, Pairs, Reduction, Result};

/// Contrastive loss in pytorch-metric-learning's form (Hadsell et al. 2006).
///
/// With a distance `d` (smaller = closer), per positive pair `[d_ij − m_pos]₊`, per negative
/// pair `[m_neg − d_ij]₊`; with a similarity `s` the margins flip: `[m_pos − s_ij]₊` and
/// `[s_ij − m_neg]₊`. Positive and negative terms are reduced separately and summed:
/// `ℓ = red({pos terms}) + red({neg terms})`.
///
/// Defaults equal PML's `ContrastiveLoss()`: `pos_margin = 0`, `neg_margin = 1`,
/// `Distance::Euclidean { normalize: true }` (PML's default `LpDistance`), `AvgNonZero`.
/// As PML's `GenericPairLoss`, the loss is 0 when there is at most one positive and at most one
/// negative pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContrastiveLoss {
    /// Margin of the positive term.
    pub pos_margin: f64,
    /// Margin of the negative term.
    pub neg_margin: f64,
    /// Distance between anchors and references.
    pub distance: Distance,
    /// Reduction applied to the positive and to the negative terms.
    pub reduction: Reduction,
}

impl Default for ContrastiveLoss {
    fn default() -> Self {
        Self {
            pos_margin: 0.0,
            neg_margin: 1.0,
            distance: Distance::euclidean(),
            reduction: Reduction::AvgNonZero,
        }
    }
}

impl ContrastiveLoss {
    /// `ContrastiveLoss(pos_margin, neg_margin)` with PML's default distance and reduction.
    pub fn new(pos_margin: f64, neg_margin: f64) -> Self {
        Self {
            pos_margin,
            neg_margin,
            ..Self::default()
        }
    }

    /// Same loss with another distance.
    pub fn with_distance(mut self, distance: Distance) -> Self {
        self.distance = distance;
        self
    }

    /// Same loss with another reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

impl MetricLoss for ContrastiveLoss {
    fn name(&self) -> &'static str {
        "contrastive"
    }

    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let pairs = Pairs::new(input, self.distance)?;
        let s = &pairs.sim;
        if pairs.pml_too_few_pairs()? {
            return Ok(s.sum_all()?.affine(0.0, 0.0)?);
        }
        let (pos, neg) = if pairs.inverted {
            (
                s.affine(-1.0, self.pos_margin)?,
                s.affine(1.0, -self.neg_margin)?,
            )
        } else {
            (
                s.affine(1.0, -self.pos_margin)?,
                s.affine(-1.0, self.neg_margin)?,
            )
        };
        let pos = pos.relu()?.mul(&pairs.pos)?;
        let neg = neg.relu()?.mul(&pairs.neg)?;
        let lp = self.reduction.reduce(&pos, Some(&pairs.pos))?;
        let ln = self.reduction.reduce(&neg, Some(&pairs.neg))?;
        Ok(lp.add(&ln)?)
    }
}
