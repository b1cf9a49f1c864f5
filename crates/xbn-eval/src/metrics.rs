//! Per-query retrieval metrics and their accumulation, as in pytorch-metric-learning.
//!
//! For a query `q` with label `y_q`, neighbours `n_1, n_2, …, n_k` (best first) and
//! relevance `c_i = [y(n_i) = y_q]`:
//!
//! * `R_q` = number of references labelled `y_q` (minus one under leave-one-out: the query
//!   itself); a query with `R_q = 0` is *excluded* from every average;
//! * hit@K = `[∃ i ≤ min(K, k) : c_i = 1]` (Recall@K in the XBM/SOP sense);
//! * precision@1 = `c_1`;
//! * with `R'_q = min(R_q, k)`: R-precision = `(Σ_{i ≤ R'_q} c_i) / R'_q`;
//! * AP@R = `(1 / R_q) Σ_{i ≤ R'_q} c_i · (Σ_{j ≤ i} c_j) / i`.
//!
//! When `k ≥ R_q` (the default: `k` is raised to the largest `R_q`), `R'_q = R_q` and these are
//! exactly Musgrave et al.'s definitions; for `k < R_q` they reproduce PML's capped values.

use std::collections::HashMap;

/// The statistics of one scored query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct QueryScore {
    /// 0-based rank of the first relevant neighbour among the `k` found, if any.
    pub first_hit: Option<usize>,
    /// R-precision of the query.
    pub r_precision: f64,
    /// AP@R of the query.
    pub ap_at_r: f64,
}

/// Scores one query from the labels of its neighbours (best first) and its `R_q ≥ 1`.
pub(crate) fn score_query(label: i64, neighbour_labels: &[i64], r: usize) -> QueryScore {
    let k = neighbour_labels.len();
    let r_cut = r.min(k);
    let mut first_hit = None;
    let mut correct = 0usize;
    let mut precision_sum = 0f64;
    for (i, &l) in neighbour_labels.iter().enumerate() {
        if l != label {
            continue;
        }
        first_hit.get_or_insert(i);
        if i >= r_cut {
            break;
        }
        correct += 1;
        precision_sum += correct as f64 / (i + 1) as f64;
    }
    QueryScore {
        first_hit,
        r_precision: if r_cut == 0 {
            0.0
        } else {
            correct as f64 / r_cut as f64
        },
        ap_at_r: precision_sum / r as f64,
    }
}

/// Reference label counts: `R_q` of any query label.
#[derive(Debug, Clone)]
pub(crate) struct LabelCounts {
    counts: HashMap<i64, usize>,
    leave_one_out: bool,
}

impl LabelCounts {
    /// Counts the reference labels; under leave-one-out the query itself is discounted.
    pub(crate) fn new(reference_labels: &[i64], leave_one_out: bool) -> Self {
        let mut counts = HashMap::new();
        for &l in reference_labels {
            *counts.entry(l).or_insert(0usize) += 1;
        }
        Self {
            counts,
            leave_one_out,
        }
    }

    /// `R_q` for a query labelled `label` (0: the query is excluded).
    pub(crate) fn relevant(&self, label: i64) -> usize {
        let c = self.counts.get(&label).copied().unwrap_or(0);
        c.saturating_sub(usize::from(self.leave_one_out))
    }
}

/// Running sums over scored queries, added in query order so results are reproducible.
#[derive(Debug, Clone)]
pub(crate) struct Accumulator {
    /// The K of each Recall@K, capped at `k`.
    pub ks: Vec<usize>,
    /// Number of scored queries with a hit within each K.
    pub hits: Vec<usize>,
    /// Number of scored queries whose first neighbour is relevant.
    pub precision_at_1: usize,
    /// Σ R-precision.
    pub r_precision: f64,
    /// Σ AP@R.
    pub ap_at_r: f64,
    /// Number of scored queries.
    pub scored: usize,
    /// Number of excluded queries (`R_q = 0`).
    pub excluded: usize,
}

impl Accumulator {
    /// An empty accumulator for Recall@K at the (already capped) `ks`.
    pub(crate) fn new(ks: Vec<usize>) -> Self {
        let n = ks.len();
        Self {
            ks,
            hits: vec![0; n],
            precision_at_1: 0,
            r_precision: 0.0,
            ap_at_r: 0.0,
            scored: 0,
            excluded: 0,
        }
    }

    /// Adds one query: `None` if it is excluded.
    pub(crate) fn add(&mut self, score: Option<QueryScore>) {
        let Some(s) = score else {
            self.excluded += 1;
            return;
        };
        self.scored += 1;
        if let Some(p) = s.first_hit {
            for (hits, &k) in self.hits.iter_mut().zip(&self.ks) {
                if p < k {
                    *hits += 1;
                }
            }
            if p == 0 {
                self.precision_at_1 += 1;
            }
        }
        self.r_precision += s.r_precision;
        self.ap_at_r += s.ap_at_r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_from_musgrave() {
        // Musgrave et al. §3.2: R = 10, relevant at ranks 1, 3, 6 (of the first 10) →
        // R-precision 3/10; MAP@R = (1/10)(1/1 + 2/3 + 3/6).
        let mut labels = vec![0i64; 12];
        for i in [0, 2, 5, 11] {
            labels[i] = 7;
        }
        let s = score_query(7, &labels, 10);
        assert_eq!(s.first_hit, Some(0));
        assert!((s.r_precision - 0.3).abs() < 1e-15);
        assert!((s.ap_at_r - (1.0 + 2.0 / 3.0 + 0.5) / 10.0).abs() < 1e-15);
    }

    #[test]
    fn counts_discount_the_query_under_leave_one_out() {
        let c = LabelCounts::new(&[1, 1, 2], true);
        assert_eq!((c.relevant(1), c.relevant(2), c.relevant(3)), (1, 0, 0));
        let c = LabelCounts::new(&[1, 1, 2], false);
        assert_eq!((c.relevant(1), c.relevant(2)), (2, 1));
    }
}
