//! Running top-k selection for one query, fed one block of scores at a time.
//!
//! Candidates are kept in a buffer of at most `k + max(k/2, 256)` entries; when it fills, a
//! partial sort (`select_nth_unstable`, linear time) keeps the best `k` and the `k`-th best
//! score becomes a threshold that later candidates must beat. Most candidates are rejected
//! by a vectorised chunk maximum without being looked at individually.
//!
//! Order: larger score first; among equal scores the lower reference index first. Because
//! blocks arrive in increasing reference index, a later candidate whose score merely equals
//! the threshold can never enter the top `k`, so the strict `>` test is exact.

use std::cmp::Ordering;

/// Chunk length of the vectorised pre-filter.
const CHUNK: usize = 32;

/// Order of two `(score, reference index)` candidates: better first.
#[inline]
pub(crate) fn rank_order(a: &(f32, u32), b: &(f32, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Number of candidate slots a running top-`k` holds (the memory planner uses it).
pub(crate) fn buffer_len(k: usize) -> usize {
    k + (k / 2).max(256)
}

/// The best `k` candidates seen so far for one query.
#[derive(Debug, Clone)]
pub(crate) struct RunningTopK {
    k: usize,
    cap: usize,
    buf: Vec<(f32, u32)>,
    threshold: f32,
}

impl RunningTopK {
    /// An empty selection of the best `k ≥ 1` candidates.
    pub(crate) fn new(k: usize) -> Self {
        let cap = buffer_len(k);
        Self {
            k,
            cap,
            buf: Vec::with_capacity(cap),
            threshold: f32::NEG_INFINITY,
        }
    }

    /// Forgets every candidate (keeps the allocation).
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.threshold = f32::NEG_INFINITY;
    }

    #[inline]
    fn push(&mut self, score: f32, index: u32) {
        // `+ 0.0` turns −0 into +0 so that equal scores compare equal under `total_cmp`.
        self.buf.push((score + 0.0, index));
        if self.buf.len() >= self.cap {
            self.compact();
        }
    }

    fn compact(&mut self) {
        if self.buf.len() > self.k {
            self.buf.select_nth_unstable_by(self.k - 1, rank_order);
            self.buf.truncate(self.k);
            self.threshold = self.buf[self.k - 1].0;
        }
    }

    /// Frees the buffer of a selection that is no longer needed.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
    }

    /// Offers the scores of references `offset, offset + 1, …` (one row of a similarity
    /// block), each minus `bias[j]` when a bias is given; `skip` is a reference index never
    /// to select (the query itself under leave-one-out).
    pub(crate) fn push_row(
        &mut self,
        row: &[f32],
        bias: Option<&[f32]>,
        offset: u32,
        skip: Option<u32>,
    ) {
        let mut base = offset;
        match bias {
            None => {
                for chunk in row.chunks(CHUNK) {
                    let best = chunk
                        .iter()
                        .fold(f32::NEG_INFINITY, |m, &s| if s > m { s } else { m });
                    if best > self.threshold {
                        for (j, &s) in chunk.iter().enumerate() {
                            let index = base + j as u32;
                            if s > self.threshold && Some(index) != skip {
                                self.push(s, index);
                            }
                        }
                    }
                    base += chunk.len() as u32;
                }
            }
            Some(bias) => {
                for (chunk, bias) in row.chunks(CHUNK).zip(bias.chunks(CHUNK)) {
                    let best = chunk
                        .iter()
                        .zip(bias)
                        .fold(f32::NEG_INFINITY, |m, (&s, &b)| {
                            let v = s - b;
                            if v > m { v } else { m }
                        });
                    if best > self.threshold {
                        for (j, (&s, &b)) in chunk.iter().zip(bias).enumerate() {
                            let index = base + j as u32;
                            let v = s - b;
                            if v > self.threshold && Some(index) != skip {
                                self.push(v, index);
                            }
                        }
                    }
                    base += chunk.len() as u32;
                }
            }
        }
    }

    /// Keeps the best `k` and sorts them best first; returns them.
    pub(crate) fn finish(&mut self) -> &[(f32, u32)] {
        self.compact();
        self.buf.sort_unstable_by(rank_order);
        &self.buf
    }

    /// The finished selection (call [`RunningTopK::finish`] first).
    pub(crate) fn result(&self) -> &[(f32, u32)] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Oracle: sort all candidates by (score desc, index asc) and take `k`.
    fn full_sort(scores: &[f32], k: usize, skip: Option<u32>) -> Vec<(f32, u32)> {
        let mut all: Vec<(f32, u32)> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, i as u32))
            .filter(|&(_, i)| Some(i) != skip)
            .collect();
        all.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
        all.truncate(k);
        all
    }

    proptest! {
        /// Fed in arbitrary blocks, the running selection equals a full sort, ties included
        /// (scores drawn from a handful of values so ties are everywhere).
        #[test]
        fn equals_full_sort(
            scores in proptest::collection::vec(-4i32..4, 1..700),
            k in 1usize..400,
            block in 1usize..300,
            skip in proptest::option::of(0u32..700),
        ) {
            let scores: Vec<f32> = scores.into_iter().map(|s| s as f32 * 0.5).collect();
            let mut top = RunningTopK::new(k);
            for (b, row) in scores.chunks(block).enumerate() {
                top.push_row(row, None, (b * block) as u32, skip);
            }
            let got = top.finish().to_vec();
            prop_assert_eq!(got, full_sort(&scores, k, skip));
        }

        /// The biased path ranks by `s − b`.
        #[test]
        fn bias_is_subtracted(
            pairs in proptest::collection::vec((-8i32..8, 0i32..4), 1..400),
            k in 1usize..50,
        ) {
            let s: Vec<f32> = pairs.iter().map(|p| p.0 as f32).collect();
            let b: Vec<f32> = pairs.iter().map(|p| p.1 as f32).collect();
            let v: Vec<f32> = s.iter().zip(&b).map(|(s, b)| s - b).collect();
            let mut top = RunningTopK::new(k);
            top.push_row(&s, Some(&b), 0, None);
            prop_assert_eq!(top.finish().to_vec(), full_sort(&v, k, None));
        }
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let mut top = RunningTopK::new(2);
        top.push_row(&[0.0, -0.0, 0.0], None, 0, None);
        let idx: Vec<u32> = top.finish().iter().map(|p| p.1).collect();
        assert_eq!(idx, vec![0, 1]);
    }
}
