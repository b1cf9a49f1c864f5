//! The moment-matching map (XBN) shared by XBN and adaptive XBN, and the checked statistics of
//! one `(memory, batch)` pair.

use candle_core::{DType, Tensor};

use crate::cpu_kernels::AffineRows;
use crate::validate::{check_matrix, check_nonempty, locate_non_finite};
use crate::{Moments, Result, XbnError, moments};

/// Rows whose L2 norm is below this are divided by it instead (as `torch.nn.functional.normalize`).
pub const NORM_FLOOR: f64 = 1e-12;

/// Moments of the memory and the batch of one adaptation, after all input checks passed.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    /// Memory moments, `None` for an empty memory (`m = 0`).
    pub memory: Option<Moments>,
    /// Batch moments (`b ≥ 1`).
    pub batch: Moments,
}

/// Checks a `(memory, batch)` pair and computes both sets of moments: ranks, `d` agreement,
/// a non-empty batch and finite values (not inside [`crate::assume_finite`]). Errors name the
/// shapes or the first non-finite entry.
pub(crate) fn observe(memory: &Tensor, batch: &Tensor) -> Result<Observed> {
    let (m, dm) = check_matrix("memory", memory)?;
    let (_b, db) = check_matrix("batch", batch)?;
    if dm != db {
        return Err(XbnError::DimMismatch {
            memory: memory.dims().to_vec(),
            batch: batch.dims().to_vec(),
        });
    }
    check_nonempty("batch", batch)?;
    let batch_m = moments(batch)?;
    let memory_m = if m > 0 { Some(moments(memory)?) } else { None };
    if !crate::finite_checks_enabled() {
        return Ok(Observed {
            memory: memory_m,
            batch: batch_m,
        });
    }
    // A non-finite entry makes its column's mean non-finite, so one scalar read checks both.
    let mut probe = stat_sum(&batch_m)?;
    if let Some(mm) = &memory_m {
        probe += stat_sum(mm)?;
    }
    if !probe.is_finite() {
        for (what, t) in [("memory", memory), ("batch", batch)] {
            if let Some(err) = locate_non_finite(what, t)? {
                return Err(err);
            }
        }
        return Err(XbnError::StatisticsOverflow {
            memory: memory.dims().to_vec(),
            batch: batch.dims().to_vec(),
        });
    }
    Ok(Observed {
        memory: memory_m,
        batch: batch_m,
    })
}

fn stat_sum(m: &Moments) -> Result<f64> {
    Ok((m.mean.sum_all()? + m.var.sum_all()?)?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?)
}

/// The (XBN) map, eq. (X1)–(X2) of `docs/method.md`: per dimension `k`,
///
/// `M̂[:,k] = (M[:,k] − μ_M[k]) / sqrt(σ²_M[k] + ε) · sqrt(σ²_T[k] + ε) + μ_T[k]`,
///
/// evaluated as `M̂ = M·a + c` with `a = sqrt(σ²_T + ε) / sqrt(σ²_M + ε)` and
/// `c = μ_T − μ_M·a`; then, with `renormalize`, every row is divided by its L2 norm (eq. (R),
/// floored at [`NORM_FLOOR`]). Statistics are applied in the memory's statistics dtype (`f64` for
/// `f64`, else `f32`) and the result has the memory's dtype.
pub(crate) fn match_moments(
    memory: &Tensor,
    memory_moments: &Moments,
    target_mean: &Tensor,
    target_var: &Tensor,
    eps: f64,
    renormalize: bool,
) -> Result<Tensor> {
    let sd = memory_moments.dtype();
    let (a, c) = affine_coefficients(memory_moments, target_mean, target_var, eps)?;
    let x = memory.to_dtype(sd)?;
    let out = if x.device().is_cpu() {
        // fused single pass (crate::cpu_kernels)
        x.contiguous()?.apply_op3_no_bwd(
            &a.contiguous()?,
            &c.contiguous()?,
            &AffineRows { renormalize },
        )?
    } else {
        generic_affine_rows(&x, &a, &c, renormalize)?
    };
    Ok(out.to_dtype(memory.dtype())?)
}

/// The per-dimension scale `a` and offset `c` of the (XBN) map, in the memory's stat dtype.
pub(crate) fn affine_coefficients(
    memory_moments: &Moments,
    target_mean: &Tensor,
    target_var: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor)> {
    let sd = memory_moments.dtype();
    let target_mean = target_mean.to_dtype(sd)?;
    let target_var = target_var.to_dtype(sd)?;
    let a =
        (target_var.affine(1.0, eps)?.sqrt()? / memory_moments.var.affine(1.0, eps)?.sqrt()?)?;
    let c = (target_mean - (&memory_moments.mean * &a)?)?;
    Ok((a, c))
}

/// (X2)+(R) with generic candle ops (the path for CUDA/Metal).
pub(crate) fn generic_affine_rows(
    x: &Tensor,
    a: &Tensor,
    c: &Tensor,
    renorm: bool,
) -> Result<Tensor> {
    let out = x
        .broadcast_mul(&a.unsqueeze(0)?)?
        .broadcast_add(&c.unsqueeze(0)?)?;
    if renorm {
        l2_normalize_rows(&out)
    } else {
        Ok(out)
    }
}

/// Divides each row of `x (n × d)` by `max(‖x_i‖₂, NORM_FLOOR)` (eq. (R); PyTorch's
/// `F.normalize(x, dim=1)`). The one L2 normalization of the workspace: the renormalized
/// memory, the embedding head and the losses' cosine similarity all use it.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[3f32, 4.], [0., 0.]], &Device::Cpu).unwrap();
/// let y = xbn_core::l2_normalize_rows(&x).unwrap();
/// assert_eq!(y.to_vec2::<f32>().unwrap(), vec![vec![0.6, 0.8], vec![0., 0.]]);
/// ```
pub fn l2_normalize_rows(x: &Tensor) -> Result<Tensor> {
    let norms = x.sqr()?.sum_keepdim(1)?.sqrt()?.maximum(NORM_FLOOR)?;
    Ok(x.broadcast_div(&norms)?)
}
