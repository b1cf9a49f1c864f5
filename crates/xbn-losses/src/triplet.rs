//! PML's `TripletMarginLoss` with all-triplet, batch-hard and semi-hard mining.

use candle_core::{DType, Tensor};

use crate::ops::masked_extreme;
use crate::{Distance, LossError, MetricLoss, PairInput, Pairs, Reduction, Result};

/// Which triplets `(a, p, n)` (`p` a positive and `n` a negative of anchor `a`) enter the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripletMining {
    /// Every triplet (PML's default `triplets_per_anchor="all"`). Builds a `(b × m × m)`
    /// tensor, so it is limited to `b·m² ≤` [`MAX_TRIPLET_ELEMENTS`].
    All,
    /// One triplet per anchor: its farthest positive and nearest negative (PML
    /// `BatchHardMiner`); anchors lacking either are dropped. Cost `O(b·m)`: fit for a memory.
    BatchHard,
    /// Triplets whose negative is farther than the positive but within the margin,
    /// `0 < d_an − d_ap ≤ margin` (PML `TripletMarginMiner(margin, "semihard")` with the loss's
    /// margin). Same size limit as `All`.
    SemiHard,
}

/// Largest `b·m²` that all-triplet and semi-hard mining accept (64 Mi elements).
pub const MAX_TRIPLET_ELEMENTS: usize = 1 << 26;

/// Triplet margin loss: per triplet `[d_ap − d_an + margin]₊` for a distance, and
/// `[s_an − s_ap + margin]₊` for a similarity.
///
/// Defaults equal PML's `TripletMarginLoss()`: `margin = 0.05`, `Distance::Euclidean
/// { normalize: true }`, all triplets, `AvgNonZero` over triplets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripletMarginLoss {
    /// Margin `α`.
    pub margin: f64,
    /// Triplet selection.
    pub mining: TripletMining,
    /// Distance between anchors and references.
    pub distance: Distance,
    /// Reduction over the selected triplets.
    pub reduction: Reduction,
}

impl Default for TripletMarginLoss {
    fn default() -> Self {
        Self {
            margin: 0.05,
            mining: TripletMining::All,
            distance: Distance::euclidean(),
            reduction: Reduction::AvgNonZero,
        }
    }
}

impl TripletMarginLoss {
    /// The loss with `margin` and `mining`, PML's default distance and reduction.
    pub fn new(margin: f64, mining: TripletMining) -> Self {
        Self {
            margin,
            mining,
            ..Self::default()
        }
    }

    /// Same loss with another distance.
    pub fn with_distance(mut self, distance: Distance) -> Self {
        self.distance = distance;
        self
    }

    /// `margin + d_ap − d_an` (distance) or `margin + s_an − s_ap` (similarity).
    fn violation(&self, ap: &Tensor, an: &Tensor, inverted: bool) -> Result<Tensor> {
        let diff = if inverted {
            an.broadcast_sub(ap)?
        } else {
            ap.broadcast_sub(an)?
        };
        Ok(diff.affine(1.0, self.margin)?)
    }

    fn batch_hard(&self, pairs: &Pairs) -> Result<Tensor> {
        let s = &pairs.sim;
        let inv = pairs.inverted;
        // Hardest positive: least similar / farthest; hardest negative: most similar / nearest.
        let hp = masked_extreme(s, &pairs.pos, inv)?;
        let hn = masked_extreme(s, &pairs.neg, !inv)?;
        let keep = hp
            .abs()?
            .lt(f64::INFINITY)?
            .mul(&hn.abs()?.lt(f64::INFINITY)?)?;
        let keep = keep.to_dtype(s.dtype())?;
        let ip = s
            .detach()
            .broadcast_eq(&hp)?
            .mul(&pairs.pos.ne(0.0)?)?
            .argmax_keepdim(1)?;
        let ineg = s
            .detach()
            .broadcast_eq(&hn)?
            .mul(&pairs.neg.ne(0.0)?)?
            .argmax_keepdim(1)?;
        let ap = s.gather(&ip, 1)?;
        let an = s.gather(&ineg, 1)?;
        let losses = self.violation(&ap, &an, inv)?.relu()?.mul(&keep)?;
        self.reduction.reduce(&losses, Some(&keep))
    }

    fn all_triplets(&self, pairs: &Pairs, semi_hard: bool) -> Result<Tensor> {
        let (b, m) = pairs.sim.dims2()?;
        self.check_sizes(b, m)?;
        let s = &pairs.sim;
        let ap = s.unsqueeze(2)?; // (b, m, 1): s_ij
        let an = s.unsqueeze(1)?; // (b, 1, m): s_ik
        let mut valid = pairs
            .pos
            .unsqueeze(2)?
            .broadcast_mul(&pairs.neg.unsqueeze(1)?)?;
        let viol = self.violation(&ap, &an, pairs.inverted)?;
        if semi_hard {
            // 0 < d_an − d_ap ≤ margin  ⇔  0 ≤ violation < margin.
            let v = viol.detach();
            let sel = v.ge(0.0)?.mul(&v.lt(self.margin)?)?.to_dtype(DType::U8)?;
            valid = valid.mul(&sel.to_dtype(s.dtype())?)?;
        }
        let losses = viol.relu()?.mul(&valid)?;
        self.reduction.reduce(&losses, Some(&valid))
    }
}

impl MetricLoss for TripletMarginLoss {
    fn name(&self) -> &'static str {
        "triplet_margin"
    }

    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor> {
        let pairs = Pairs::new(input, self.distance)?;
        match self.mining {
            TripletMining::All => self.all_triplets(&pairs, false),
            TripletMining::SemiHard => self.all_triplets(&pairs, true),
            TripletMining::BatchHard => self.batch_hard(&pairs),
        }
    }

    fn check_sizes(&self, anchors: usize, refs: usize) -> Result<()> {
        let needed = anchors.saturating_mul(refs).saturating_mul(refs);
        if self.mining != TripletMining::BatchHard && needed > MAX_TRIPLET_ELEMENTS {
            return Err(LossError::TooManyTriplets {
                anchors,
                refs,
                needed,
                limit: MAX_TRIPLET_ELEMENTS,
            });
        }
        Ok(())
    }
}
