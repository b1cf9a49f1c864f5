//! Max pooling composed of differentiable candle ops: the path for devices without a kernel.

use candle_core::{D, Result, Tensor};

/// The map of [`super::max_pool2d`] from candle ops: the max over a window is separable (rows,
/// then columns); for each direction the `k` strided shifted views are taken with
/// `index_select`, stacked, reduced with `argmax` and read back with `gather`, so the gradient of
/// each output flows to exactly one input.
pub(crate) fn max_pool2d_composed(
    x: &Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<Tensor> {
    // Channels-last (N, H, W, C): columns are dim 2, rows dim 1.
    let y = pool_along(x, 2, kernel, stride, padding)?;
    pool_along(&y, 1, kernel, stride, padding)
}

/// One-dimensional max pooling along `dim` of a rank-4 tensor.
fn pool_along(x: &Tensor, dim: usize, k: usize, s: usize, p: usize) -> Result<Tensor> {
    let len = x.dim(dim)?;
    if len + 2 * p < k {
        return Err(candle_core::Error::Msg(format!(
            "max_pool2d: input {:?}: spatial size + 2·{p} must be ≥ kernel {k}",
            x.dims()
        )));
    }
    let out = (len + 2 * p - k) / s + 1;
    let needed = (out - 1) * s + k;
    let right = needed.saturating_sub(len + p);
    let padded = if p > 0 || right > 0 {
        let mut parts = Vec::with_capacity(3);
        let mut pad_shape = x.dims().to_vec();
        if p > 0 {
            pad_shape[dim] = p;
            parts.push(neg_inf(x, &pad_shape)?);
        }
        parts.push(x.clone());
        if right > 0 {
            pad_shape[dim] = right;
            parts.push(neg_inf(x, &pad_shape)?);
        }
        // index_select reads contiguous tensors; candle's cat along an inner dim is a view.
        Tensor::cat(&parts, dim)?.contiguous()?
    } else {
        x.contiguous()?
    };
    let mut views = Vec::with_capacity(k);
    for offset in 0..k {
        let idx: Vec<u32> = (0..out).map(|i| (offset + i * s) as u32).collect();
        let idx = Tensor::new(idx, x.device())?;
        views.push(padded.index_select(&idx, dim)?);
    }
    let stacked = Tensor::stack(&views, 4)?;
    let arg = stacked.argmax_keepdim(D::Minus1)?;
    stacked.gather(&arg, D::Minus1)?.squeeze(D::Minus1)
}

fn neg_inf(like: &Tensor, shape: &[usize]) -> Result<Tensor> {
    Tensor::full(f32::NEG_INFINITY, shape, like.device())?.to_dtype(like.dtype())
}
