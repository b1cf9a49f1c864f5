//! PML's `MultiSimilarityMiner` (Wang et al., CVPR 2019), on pair masks.

use crate::ops::masked_extreme;
use crate::{Pairs, Result};

/// Keeps the informative pairs of multi-similarity mining. With similarities `S`:
/// a positive `(i, j)` is kept when `S_ij − ε < max_{k ∈ N_i} S_ik`, a negative `(i, k)` when
/// `S_ik + ε > min_{j ∈ P_i} S_ij` (for distances the inequalities flip). When the whole call
/// has no positive or no negative pair nothing is kept, as PML.
///
/// Default `ε = 0.1` (PML's default). Pairs excluded by the caller (e.g. an anchor's own copy in
/// the memory) are excluded before mining; PML's `CrossBatchMemory` mines first and removes the
/// own copy afterwards, so the two can differ when the own copy is an anchor's least similar
/// positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiSimilarityMiner {
    /// Mining margin `ε`.
    pub epsilon: f64,
}

impl Default for MultiSimilarityMiner {
    fn default() -> Self {
        Self { epsilon: 0.1 }
    }
}

impl MultiSimilarityMiner {
    /// The miner with margin `ε`.
    pub fn new(epsilon: f64) -> Self {
        Self { epsilon }
    }

    /// Returns `pairs` with the masks reduced to the mined positives and negatives.
    pub fn mine(&self, pairs: &Pairs) -> Result<Pairs> {
        let (np, nn) = pairs.counts()?;
        if np == 0.0 || nn == 0.0 {
            return Ok(Pairs {
                pos: pairs.pos.zeros_like()?,
                neg: pairs.neg.zeros_like()?,
                ..pairs.clone()
            });
        }
        let s = pairs.sim.detach();
        let dt = s.dtype();
        let eps = self.epsilon;
        let (pos_keep, neg_keep) = if pairs.inverted {
            let max_neg = masked_extreme(&s, &pairs.neg, false)?;
            let min_pos = masked_extreme(&s, &pairs.pos, true)?;
            (
                s.affine(1.0, -eps)?.broadcast_lt(&max_neg)?,
                s.affine(1.0, eps)?.broadcast_gt(&min_pos)?,
            )
        } else {
            let min_neg = masked_extreme(&s, &pairs.neg, true)?;
            let max_pos = masked_extreme(&s, &pairs.pos, false)?;
            (
                s.affine(1.0, eps)?.broadcast_gt(&min_neg)?,
                s.affine(1.0, -eps)?.broadcast_lt(&max_pos)?,
            )
        };
        Ok(Pairs {
            pos: pairs.pos.mul(&pos_keep.to_dtype(dt)?)?,
            neg: pairs.neg.mul(&neg_keep.to_dtype(dt)?)?,
            sim: pairs.sim.clone(),
            inverted: pairs.inverted,
        })
    }
}
