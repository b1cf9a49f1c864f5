//! BatchNorm composed of differentiable candle ops: the path for devices without a kernel.

use candle_core::{Result, Tensor};

use super::batch_norm::{BatchNormOutput, BatchNormStatistics};

/// The map of [`super::batch_norm2d`] (plus an optional shortcut added before the ReLU) built
/// from candle ops; autograd differentiates it (and
/// keeps every intermediate until backward).
pub(crate) fn batch_norm2d_composed(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    residual: Option<&Tensor>,
    statistics: BatchNormStatistics<'_>,
    eps: f64,
    relu: bool,
) -> Result<BatchNormOutput> {
    let (n, h, w, c) = x.dims4()?;
    let gamma = gamma.to_dtype(x.dtype())?.reshape((1, 1, 1, c))?;
    let beta = beta.to_dtype(x.dtype())?.reshape((1, 1, 1, c))?;
    let (y, batch_moments) = match statistics {
        BatchNormStatistics::Batch => {
            let m = (n * h * w) as f64;
            let mean = (channel_sums(x)? / m)?;
            let centered = x.broadcast_sub(&mean)?;
            let var = (channel_sums(&centered.sqr()?)? / m)?;
            let inv_std = (var.clone() + eps)?.sqrt()?.recip()?;
            let y = centered
                .broadcast_mul(&inv_std.broadcast_mul(&gamma)?)?
                .broadcast_add(&beta)?;
            let moments = (mean.detach().flatten_all()?, var.detach().flatten_all()?);
            (y, Some(moments))
        }
        BatchNormStatistics::Fixed { mean, var } => {
            let inv_std = (var.detach().to_dtype(x.dtype())? + eps)?
                .sqrt()?
                .recip()?
                .reshape((1, 1, 1, c))?;
            let scale = inv_std.broadcast_mul(&gamma)?;
            let shift = beta.broadcast_sub(
                &mean
                    .detach()
                    .to_dtype(x.dtype())?
                    .reshape((1, 1, 1, c))?
                    .broadcast_mul(&scale)?,
            )?;
            (x.broadcast_mul(&scale)?.broadcast_add(&shift)?, None)
        }
    };
    let y = match residual {
        Some(r) => (y + r)?,
        None => y,
    };
    let output = if relu { y.relu()? } else { y };
    Ok(BatchNormOutput {
        output,
        batch_moments,
    })
}

/// `Σ_{n,h,w} x[n,h,w,c]` as a `(1, 1, 1, C)` tensor: one reduction over the rows of `(N·H·W, C)`.
fn channel_sums(x: &Tensor) -> Result<Tensor> {
    let (n, h, w, c) = x.dims4()?;
    x.reshape((n * h * w, c))?
        .sum_keepdim(0)?
        .reshape((1, 1, 1, c))
}
