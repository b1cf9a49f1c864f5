//! The drift diagnostic: how far stored memory entries are from the embeddings the current
//! weights give the same images, before and after moment matching.
//!
//! For a sample `S` of memory entries with images `x_i`, stored (as enqueued) embeddings `m_i`,
//! adapted entries `m̂_i` and fresh embeddings `f_θ(x_i)`:
//! `drift_before = (1/|S|) Σ_i ‖m_i − f_θ(x_i)‖₂`, `drift_after = (1/|S|) Σ_i ‖m̂_i − f_θ(x_i)‖₂`.
//! `f_θ(x_i)` is computed as training computes embeddings (evaluation transform, BatchNorm with
//! the statistics of batches of the training batch size), and the BatchNorm running statistics
//! are restored afterwards, so the diagnostic does not change the run.

use candle_core::{DType, Tensor};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::outputs::metrics::DriftRecord;

/// Mean Euclidean distance between corresponding rows of `a` and `b` (`n × d`, `n ≥ 1`).
///
/// ```
/// use candle_core::{Device, Tensor};
/// let a = Tensor::new(&[[0f32, 0.], [1., 1.]], &Device::Cpu).unwrap();
/// let b = Tensor::new(&[[3f32, 4.], [1., 1.]], &Device::Cpu).unwrap();
/// assert!((xbn_train::train::drift::mean_row_distance(&a, &b).unwrap() - 2.5).abs() < 1e-9);
/// ```
pub fn mean_row_distance(a: &Tensor, b: &Tensor) -> Result<f64> {
    let d = (a.to_dtype(DType::F64)? - b.to_dtype(DType::F64)?)?;
    Ok(d.sqr()?.sum(1)?.sqrt()?.mean_all()?.to_scalar::<f64>()?)
}

/// The [`DriftRecord`] of stored, adapted and fresh embeddings of the same sample.
pub fn drift_record(stored: &Tensor, adapted: &Tensor, fresh: &Tensor) -> Result<DriftRecord> {
    Ok(DriftRecord {
        before: mean_row_distance(stored, fresh)?,
        after: mean_row_distance(adapted, fresh)?,
        sample: stored.dim(0)?,
    })
}

/// `min(n, len)` distinct positions out of `0..len`, sorted, drawn with `seed`.
pub fn sample_positions(len: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = sample(&mut rng, len, n.min(len)).into_vec();
    v.sort_unstable();
    v
}
