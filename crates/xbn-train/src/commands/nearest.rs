//! Exact nearest catalogue rows of query embeddings, a block of catalogue rows at a time:
//! xbn-eval's k-NN ([`xbn_eval::knn`], cosine similarity) of the queries against each block,
//! the per-block top-k merged with the same order (higher similarity first, then lower row), so
//! the result is the k-NN over the whole catalogue while only one block is in memory.

use candle_core::Tensor;
use xbn_eval::{EvalOptions, knn};

use super::catalogue_rows::Embeddings;
use crate::error::Result;

/// Bytes of catalogue rows read and searched at a time.
pub const BLOCK_BYTES: usize = 64 << 20;

/// The `k` nearest rows of each query.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// Per query, `(similarity, row)` nearest first (at most `k`, fewer when the catalogue
    /// is smaller).
    pub hits: Vec<Vec<(f32, usize)>>,
}

/// The `k` nearest rows of `catalogue` to each row of `queries`, reading `block_rows` rows at a
/// time (`None`: as many as fit [`BLOCK_BYTES`]); `options` is passed to xbn-eval's k-NN.
pub fn nearest(
    queries: &Tensor,
    catalogue: &Embeddings,
    k: usize,
    block_rows: Option<usize>,
    options: &EvalOptions,
) -> Result<Nearest> {
    let (n_q, _) = queries.dims2()?;
    let (_, d) = catalogue.dims()?;
    let rows = block_rows.unwrap_or(BLOCK_BYTES / (4 * d.max(1))).max(1);
    let mut hits: Vec<Vec<(f32, usize)>> = vec![Vec::new(); n_q];
    catalogue.for_each_block(rows, |r0, block| {
        let nn = knn(queries, Some(block), k, options)?;
        for (q, best) in hits.iter_mut().enumerate() {
            let new = (0..nn.k).map(|j| {
                let at = q * nn.k + j;
                (nn.scores[at], r0 + nn.indices[at] as usize)
            });
            best.extend(new);
            // Higher similarity first; ties to the lower row, as within a block.
            best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            best.truncate(k);
        }
        Ok(())
    })?;
    Ok(Nearest { hits })
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn blocks_of_any_size_give_the_neighbours_of_one_whole_search() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (n, d, n_q, k) = (53, 5, 9, 6);
        // Few distinct values, so that similarities tie often.
        let mut values: Vec<f32> = (0..n * d)
            .map(|_| rng.random_range(-2i32..=2) as f32)
            .collect();
        values[..d].fill(1.0);
        // Duplicated rows in different blocks: exact ties.
        let row = values[3 * d..4 * d].to_vec();
        values[40 * d..41 * d].copy_from_slice(&row);
        let cat = Tensor::from_vec(values, (n, d), &Device::Cpu).unwrap();
        let queries = cat.narrow(0, 0, n_q).unwrap();
        let options = EvalOptions::default();
        let whole = knn(&queries, Some(&cat), k, &options).unwrap();
        let embeddings = Embeddings::Loaded(cat);
        for block in [1, 2, 7, 16, 53, 100] {
            let got = nearest(&queries, &embeddings, k, Some(block), &options).unwrap();
            for q in 0..n_q {
                let want: Vec<(f32, usize)> = (0..k)
                    .map(|j| (whole.scores[q * k + j], whole.indices[q * k + j] as usize))
                    .collect();
                let rows = |v: &[(f32, usize)]| v.iter().map(|h| h.1).collect::<Vec<_>>();
                assert_eq!(rows(&got.hits[q]), rows(&want), "block {block}, query {q}");
                for (a, b) in got.hits[q].iter().zip(&want) {
                    assert!((a.0 - b.0).abs() < 1e-6, "block {block}, query {q}");
                }
            }
        }
        // k beyond the catalogue: every row once.
        let all = nearest(&queries, &embeddings, 500, Some(7), &options).unwrap();
        assert!(all.hits.iter().all(|h| h.len() == n));
    }
}
