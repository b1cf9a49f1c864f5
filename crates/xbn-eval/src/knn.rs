//! Exact blocked k-nearest-neighbour search on any candle device.
//!
//! The `(n_q × n_r)` score matrix is never held whole: for each block of `q_b` queries, the
//! references are visited in blocks of `r_b` rows; each `(q_b × r_b)` tile
//! `S = Q_b R_bᵀ` is one matmul (gemm) on the device, read on the host (in place on the CPU,
//! copied from an accelerator), and merged into every query's running top-`k` in parallel
//! with rayon. A query block is finished, handed to the caller and forgotten before the next
//! one starts, so peak working memory is [`BlockPlan::bytes`].

use candle_core::Tensor;
use rayon::prelude::*;

use crate::prepare::{embeddings_f32, ranking_space, reference_bias, with_host_f32};
use crate::symmetric::{for_each_block_symmetric, symmetric_tile};
use crate::topk::RunningTopK;
use crate::{BlockPlan, EvalError, EvalOptions, Metric, Result};

/// Runs the k-NN scan chosen by `options`: the symmetric scan under leave-one-out when
/// `options.symmetric` and its buffers fit (tile side `options.block.query_block` if given),
/// else the plain scan with `options.block` or the plan of `options.memory_budget`.
pub(crate) fn scan<F>(
    q: &Tensor,
    r: &Tensor,
    bias: Option<&[f32]>,
    leave_one_out: bool,
    k: usize,
    options: &EvalOptions,
    f: F,
) -> Result<()>
where
    F: FnMut(usize, &[RunningTopK]) -> Result<()>,
{
    let (n_q, n_r) = (q.dim(0)?, r.dim(0)?);
    if leave_one_out && options.symmetric {
        let tile = match options.block {
            Some(p) => Some(p.query_block),
            None => symmetric_tile(options.memory_budget, n_q, k, q.device()),
        };
        if let Some(b) = tile {
            return for_each_block_symmetric(q, bias, k, b, f);
        }
    }
    let plan = match options.block {
        Some(p) => p,
        None => BlockPlan::from_budget(options.memory_budget, n_q, n_r, k, q.device())?,
    };
    for_each_query_block(q, r, bias, leave_one_out, k, plan, f)
}

/// Visits finished query blocks: `f(first_query_row, selections)`, each selection sorted
/// best first. `q` and `r` are in ranking space; `bias` is [`reference_bias`]; with
/// `leave_one_out`, query row `i` never selects reference row `i`.
pub(crate) fn for_each_query_block<F>(
    q: &Tensor,
    r: &Tensor,
    bias: Option<&[f32]>,
    leave_one_out: bool,
    k: usize,
    plan: BlockPlan,
    mut f: F,
) -> Result<()>
where
    F: FnMut(usize, &[RunningTopK]) -> Result<()>,
{
    let (n_q, n_r) = (q.dim(0)?, r.dim(0)?);
    let q_b = plan.query_block.clamp(1, n_q);
    let r_b = plan.reference_block.clamp(1, n_r);
    let mut states: Vec<RunningTopK> = (0..q_b).map(|_| RunningTopK::new(k)).collect();
    for q0 in (0..n_q).step_by(q_b) {
        let rows = q_b.min(n_q - q0);
        let states = &mut states[..rows];
        states.iter_mut().for_each(RunningTopK::reset);
        let q_block = q.narrow(0, q0, rows)?;
        for r0 in (0..n_r).step_by(r_b) {
            let cols = r_b.min(n_r - r0);
            let tile = q_block.matmul(&r.narrow(0, r0, cols)?.t()?)?;
            let tile_bias = bias.map(|b| &b[r0..r0 + cols]);
            with_host_f32(&tile, |scores| {
                states
                    .par_iter_mut()
                    .zip(scores.par_chunks(cols))
                    .enumerate()
                    .for_each(|(i, (state, row))| {
                        let skip = leave_one_out.then_some((q0 + i) as u32);
                        state.push_row(row, tile_bias, r0 as u32, skip);
                    });
            })?;
        }
        states.par_iter_mut().for_each(|s| {
            s.finish();
        });
        f(q0, states)?;
    }
    Ok(())
}

/// The `k` nearest references of every query, row-major `(n_q × k)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// Neighbours per query (`k`, capped at the number of references available).
    pub k: usize,
    /// Reference row of the `j`-th nearest neighbour of query `i` at `i·k + j`.
    pub indices: Vec<u32>,
    /// Its score: cosine similarity, or the Euclidean distance `‖q − r‖₂`.
    pub scores: Vec<f32>,
}

/// Exact `k` nearest neighbours of each row of `query` among the rows of `reference`
/// (`None`: leave-one-out within `query`, each row's own index excluded), ranked by `metric`,
/// ties broken by lower reference index. Runs on the device of `query`, in tiles that fit
/// `options.memory_budget` bytes (see [`BlockPlan`]), with `options.metric`; `k` is capped
/// at the number of references.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use xbn_eval::{knn, EvalOptions};
/// let x = Tensor::new(&[[1f32, 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]], &Device::Cpu).unwrap();
/// let nn = knn(&x, None, 1, &EvalOptions::default()).unwrap();
/// assert_eq!(nn.indices, vec![1, 0, 3, 2]);
/// ```
pub fn knn(
    query: &Tensor,
    reference: Option<&Tensor>,
    k: usize,
    options: &EvalOptions,
) -> Result<Neighbours> {
    let metric = options.metric;
    if k == 0 {
        return Err(EvalError::InvalidK { ks: vec![k] });
    }
    let q = embeddings_f32(query, "query embeddings")?;
    let q = ranking_space(&q, metric, "query embeddings")?;
    let r = match reference {
        None => q.clone(),
        Some(r) => {
            let r = embeddings_f32(&r.to_device(q.device())?, "reference embeddings")?;
            if r.dim(1)? != q.dim(1)? {
                return Err(EvalError::DimMismatch {
                    query: q.dims().to_vec(),
                    reference: r.dims().to_vec(),
                });
            }
            ranking_space(&r, metric, "reference embeddings")?
        }
    };
    let loo = reference.is_none();
    let available = r.dim(0)? - usize::from(loo);
    if available == 0 {
        return Err(EvalError::Empty {
            what: "references (excluding each query's own row)".into(),
            shape: r.dims().to_vec(),
        });
    }
    let k = k.min(available);
    let bias = reference_bias(&r, metric)?;
    let q_sq = match metric {
        Metric::Euclidean => Some((q.sqr()?.sum(1)?).to_vec1::<f32>()?),
        Metric::Cosine => None,
    };
    let n_q = q.dim(0)?;
    let mut indices = Vec::with_capacity(n_q * k);
    let mut scores = Vec::with_capacity(n_q * k);
    scan(&q, &r, bias.as_deref(), loo, k, options, |q0, states| {
        for (i, s) in states.iter().enumerate() {
            for &(score, index) in s.result() {
                indices.push(index);
                scores.push(match &q_sq {
                    // ‖q − r‖² = ‖q‖² − 2 (q·r − ‖r‖²/2)
                    Some(q_sq) => (q_sq[q0 + i] - 2.0 * score).max(0.0).sqrt(),
                    None => score,
                });
            }
        }
        Ok(())
    })?;
    Ok(Neighbours { k, indices, scores })
}
