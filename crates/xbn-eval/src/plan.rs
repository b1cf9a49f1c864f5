//! Block sizes chosen from a memory budget.

use candle_core::Device;

use crate::topk::buffer_len;
use crate::{EvalError, Result};

/// Largest reference block tried first (columns of one similarity block).
const MAX_REFERENCE_BLOCK: usize = 4096;
/// Smallest reference block the planner shrinks to before it gives up on query rows.
const MIN_REFERENCE_BLOCK: usize = 256;
/// Query rows per block below which the planner prefers narrower reference blocks.
const MIN_QUERY_BLOCK: usize = 64;
/// Query rows per block above which a larger budget buys nothing (tiles stay ≤ 16 MiB, so
/// the allocator reuses them instead of mapping fresh pages for every tile).
const MAX_QUERY_BLOCK: usize = 1024;

/// How the `(n_q × n_r)` similarity matrix is cut: `query_block × reference_block` tiles.
///
/// Working memory beyond the inputs is bounded by
/// `bytes(plan) = q_b · r_b · 4 · c + q_b · 8 · (k + max(k/2, 256))`, where `q_b · r_b` f32
/// similarities are held once on the CPU (`c = 1`) and twice on an accelerator (`c = 2`:
/// the device tile and its host copy), and each of the `q_b` queries of a block keeps a
/// running buffer of `k + max(k/2, 256)` `(score, index)` candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPlan {
    /// Query rows per tile, `q_b ≥ 1`.
    pub query_block: usize,
    /// Reference rows per tile, `r_b ≥ 1`.
    pub reference_block: usize,
}

impl BlockPlan {
    /// The largest tiles whose working memory (see [`BlockPlan`]) fits in `budget` bytes for
    /// `n_q` queries, `n_r` references and `k` neighbours per query on `device`.
    ///
    /// Reference blocks start at `min(n_r, 4096)` and are halved (down to 256) while fewer
    /// than 64 query rows would fit; the query block then takes the rest of the budget, up to
    /// 1024 rows.
    ///
    /// ```
    /// use xbn_eval::BlockPlan;
    /// let plan = BlockPlan::from_budget(64 << 20, 60_000, 60_000, 1000, &candle_core::Device::Cpu)
    ///     .unwrap();
    /// assert!(plan.bytes(1000, &candle_core::Device::Cpu) <= 64 << 20);
    /// ```
    pub fn from_budget(
        budget: usize,
        n_q: usize,
        n_r: usize,
        k: usize,
        device: &Device,
    ) -> Result<Self> {
        let n_q = n_q.max(1);
        let mut reference_block = n_r.clamp(1, MAX_REFERENCE_BLOCK);
        loop {
            let one_row = Self {
                query_block: 1,
                reference_block,
            }
            .bytes(k, device);
            let rows = budget / one_row.max(1);
            let narrower = reference_block / 2;
            if rows >= MIN_QUERY_BLOCK.min(n_q) || narrower < MIN_REFERENCE_BLOCK {
                if rows == 0 {
                    return Err(EvalError::BudgetTooSmall {
                        budget,
                        needed: one_row,
                    });
                }
                return Ok(Self {
                    query_block: rows.min(n_q).min(MAX_QUERY_BLOCK),
                    reference_block,
                });
            }
            reference_block = narrower;
        }
    }

    /// Working memory of this plan in bytes, for `k` neighbours per query on `device`.
    pub fn bytes(&self, k: usize, device: &Device) -> usize {
        let copies = if device.is_cpu() { 1 } else { 2 };
        self.query_block * self.reference_block * 4 * copies + self.query_block * 8 * buffer_len(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_fits_budget_and_uses_it() {
        let cpu = Device::Cpu;
        for &(budget, n, k) in &[
            (512usize << 20, 60_000usize, 1000usize),
            (16 << 20, 60_000, 1000),
            (1 << 20, 5_000, 10),
        ] {
            let plan = BlockPlan::from_budget(budget, n, n, k, &cpu).unwrap();
            assert!(plan.bytes(k, &cpu) <= budget, "{plan:?} over {budget}");
            // One more query row would not fit (or the block is already at its cap).
            let bigger = BlockPlan {
                query_block: plan.query_block + 1,
                ..plan
            };
            assert!(plan.query_block == 1024 || bigger.bytes(k, &cpu) > budget);
        }
    }

    #[test]
    fn tiny_budget_is_an_error() {
        let err = BlockPlan::from_budget(1000, 10, 10_000, 100, &Device::Cpu).unwrap_err();
        assert!(matches!(
            err,
            EvalError::BudgetTooSmall { budget: 1000, .. }
        ));
    }
}
