//! Per-dimension first and second moments of a set of embeddings.

use candle_core::{DType, Tensor};

use crate::Result;
use crate::cpu_kernels::ColumnMoments;
use crate::validate::{check_matrix, check_nonempty, stat_dtype};

/// Per-dimension moments of `n` rows of a `(n × d)` tensor. All tensors have shape `(d,)`, live
/// on the input's device and have dtype `f64` for `f64` input and `f32` otherwise.
#[derive(Debug, Clone)]
pub struct Moments {
    /// `μ[k] = (1/n) Σ_i x[i,k]`.
    pub mean: Tensor,
    /// Biased variance `σ²[k] = (1/n) Σ_i (x[i,k] − μ[k])²`.
    pub var: Tensor,
    /// Unbiased variance `s²[k] = n/(n−1) · σ²[k]`; for `n = 1` it is undefined and set to 0
    /// (check [`Moments::count`]).
    pub var_unbiased: Tensor,
    /// The number of rows `n ≥ 1`.
    pub count: usize,
}

impl Moments {
    /// The dtype the statistics are held in.
    pub fn dtype(&self) -> DType {
        self.mean.dtype()
    }
}

/// Per-dimension mean and biased/unbiased variance of the rows of `x (n × d)`, eq. (M1)–(M3)
/// of `docs/method.md`, computed in two passes (mean first, then centred squares) for accuracy.
///
/// `f16`/`bf16` inputs accumulate in `f32`. Non-finite inputs give non-finite moments (the
/// moment matchers check for that); `n = 0` and ranks other than 2 are errors.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[1.0f64, 10.0], [3.0, 10.0]], &Device::Cpu).unwrap();
/// let m = xbn_core::moments(&x).unwrap();
/// assert_eq!(m.mean.to_vec1::<f64>().unwrap(), vec![2.0, 10.0]);
/// assert_eq!(m.var.to_vec1::<f64>().unwrap(), vec![1.0, 0.0]);
/// assert_eq!(m.var_unbiased.to_vec1::<f64>().unwrap(), vec![2.0, 0.0]);
/// assert_eq!(m.count, 2);
/// ```
pub fn moments(x: &Tensor) -> Result<Moments> {
    let (n, _d) = check_matrix("moments input", x)?;
    check_nonempty("moments input", x)?;
    let x = x.to_dtype(stat_dtype("moments input", x.dtype())?)?;
    let (mean, var) = if x.device().is_cpu() {
        // fused two-pass kernel with f64 accumulation (crate::cpu_kernels)
        let mv = x.contiguous()?.apply_op1_no_bwd(&ColumnMoments)?;
        (mv.get(0)?, mv.get(1)?)
    } else {
        generic_mean_var(&x)?
    };
    let var_unbiased = if n > 1 {
        var.affine(n as f64 / (n as f64 - 1.0), 0.0)?
    } else {
        var.zeros_like()?
    };
    Ok(Moments {
        mean,
        var,
        var_unbiased,
        count: n,
    })
}

/// (M1)–(M2) with generic candle ops (the path for CUDA/Metal).
pub(crate) fn generic_mean_var(x: &Tensor) -> Result<(Tensor, Tensor)> {
    let mean = x.mean_keepdim(0)?;
    let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(0)?.squeeze(0)?;
    Ok((mean.squeeze(0)?, var))
}
