//! The affine bound of the drift diagnostic: the best per-dimension affine map from stored to
//! fresh embeddings, fitted by least squares on the sample.
//!
//! Per-dimension moment matching (XBN, adaptive XBN) transforms every stored entry by one map
//! `m̂_k = a_k · m_k + b_k` per dimension `k`. On a sample of stored entries `m_i` and fresh
//! embeddings `f_i` of the same views, the least-squares map is, per dimension,
//!
//! ```text
//! a_k = cov(m_k, f_k) / var(m_k)     (0 when var(m_k) = 0)
//! b_k = mean(f_k) − a_k · mean(m_k)
//! ```
//!
//! and `‖f_i − (a ∘ m_i + b)‖` is what no such map can remove (in the least-squares sense,
//! before any L2 renormalization): drift of another kind, such as a rotation or a change of
//! the embedding's shape, that moment matching cannot undo.

use candle_core::{D, DType, Tensor};

use crate::error::Result;

/// `a ∘ m + b` for the least-squares per-dimension map from `stored` to `fresh` (`n × d`,
/// `n ≥ 1`), in `f64`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use xbn_train::train::affine_bound::affine_fit;
/// let f = Tensor::new(&[[0f64, 1.], [1., 0.], [2., 5.]], &Device::Cpu).unwrap();
/// let m = ((&f * 3.0).unwrap() + 1.0).unwrap(); // m = 3f + 1: exactly affine
/// let fitted = affine_fit(&m, &f).unwrap();
/// let err = (fitted - &f).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
/// assert!(err < 1e-12);
/// ```
pub fn affine_fit(stored: &Tensor, fresh: &Tensor) -> Result<Tensor> {
    let m = stored.to_dtype(DType::F64)?;
    let f = fresh.to_dtype(DType::F64)?;
    let (mean_m, mean_f) = (m.mean_keepdim(0)?, f.mean_keepdim(0)?);
    let cm = m.broadcast_sub(&mean_m)?;
    let cf = f.broadcast_sub(&mean_f)?;
    let var = cm.sqr()?.mean_keepdim(0)?;
    let cov = (&cm * &cf)?.mean_keepdim(0)?;
    // a = cov / var where var > 0, else 0 (a constant dimension: the best map is the mean).
    let positive = var.gt(0.0)?;
    let safe_var = positive.where_cond(&var, &var.ones_like()?)?;
    let a = positive.where_cond(&(cov / safe_var)?, &var.zeros_like()?)?;
    Ok(cm.broadcast_mul(&a)?.broadcast_add(&mean_f)?)
}

/// Euclidean distance of each row of `a` to the same row of `b`, `(n,)` `f64`.
pub fn row_distances(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let d = (a.to_dtype(DType::F64)? - b.to_dtype(DType::F64)?)?;
    Ok(d.sqr()?.sum(D::Minus1)?.sqrt()?)
}
