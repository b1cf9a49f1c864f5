//! A bias-free 2-D convolution with torchvision's initialization and a matrix-product backward.

use candle_core::{Tensor, Var};

use super::error::Result;
use super::params::{ParamRole, ParamStore};

/// `y = W ⋆ x` with a `(c_out, c_in, k, k)` kernel named `{prefix}.weight`, no bias (every conv
/// of the backbones is followed by BatchNorm).
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Var,
    stride: usize,
    padding: usize,
}

impl Conv2d {
    /// Kaiming-normal initialization in fan-out mode for ReLU, as torchvision's ResNet:
    /// `W ~ N(0, 2 / (c_out·k²))`.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        (c_in, c_out): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
        role: ParamRole,
    ) -> Result<Self> {
        let std = (2.0 / (c_out * kernel * kernel) as f64).sqrt();
        let weight = store.normal(
            &format!("{prefix}.weight"),
            &[c_out, c_in, kernel, kernel],
            std,
            role,
        )?;
        Ok(Self {
            weight,
            stride,
            padding,
        })
    }

    /// Applies the convolution to an `(N, c_in, H, W)` tensor through [`conv2d_unfold`]: its
    /// backward is matrix products (candle 0.11's conv backward is slow on a CPU and wrong for
    /// non-square inputs with stride 2, where it takes the width's output padding from the
    /// height).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        conv2d_unfold(x, self.weight.as_tensor(), self.stride, self.padding)
    }
}

/// Convolution as one matrix product over unfolded patches ("im2col" from differentiable ops):
/// `y[n,o,i,j] = Σ_{c,a,b} W[o,c,a,b] · x̃[n,c, s·i + a, s·j + b]` with `x̃` zero-padded by `p`.
///
/// All `k²` shifted, strided windows of `x̃` (in `(C, N, H, W)` layout) are gathered with one
/// `index_select` into a `(C·k², N·H'·W')` matrix that is multiplied by `W` reshaped
/// `(c_out, C·k²)`. Its gradient is two matrix products and one `index_add`, on every device,
/// instead of candle 0.11's transposed-convolution backward; the values equal
/// `Tensor::conv2d`.
pub fn conv2d_unfold(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let (c_out, c_in, k, k2) = w.dims4()?;
    if c_in != c || k != k2 || stride == 0 || h + 2 * padding < k || wd + 2 * padding < k {
        // Let candle produce its usual shape error for inconsistent inputs.
        return Ok(x.conv2d(w, padding, stride, 1, 1)?);
    }
    let ho = (h + 2 * padding - k) / stride + 1;
    let wo = (wd + 2 * padding - k) / stride + 1;
    let (hp, wp) = (h + 2 * padding, wd + 2 * padding);
    let xc = x.transpose(0, 1)?; // (C, N, H, W)
    let xc = if padding > 0 {
        xc.pad_with_zeros(2, padding, padding)?
            .pad_with_zeros(3, padding, padding)?
    } else {
        xc
    };
    if k == 1 && stride == 1 && padding == 0 {
        // A 1×1 convolution is a plain matrix product over the channels.
        let cols = xc.contiguous()?.reshape((c, n * h * wd))?;
        let y = w.reshape((c_out, c))?.matmul(&cols)?;
        return Ok(y
            .reshape((c_out, n, h, wd))?
            .transpose(0, 1)?
            .contiguous()?);
    }
    // One gather of all k² shifted, strided windows from the flattened padded plane:
    // column (a, b, i, j) reads pixel (s·i + a, s·j + b).
    let mut idx = Vec::with_capacity(k * k * ho * wo);
    for a in 0..k {
        for b in 0..k {
            for i in 0..ho {
                for j in 0..wo {
                    idx.push(((stride * i + a) * wp + stride * j + b) as u32);
                }
            }
        }
    }
    let idx = Tensor::new(idx, x.device())?;
    let flat = xc.contiguous()?.reshape((c, n, hp * wp))?;
    let cols = flat
        .index_select(&idx, 2)? // (C, N, k²·H'·W')
        .reshape((c, n, k * k, ho * wo))?
        .transpose(1, 2)? // (C, k², N, H'·W')
        .contiguous()?
        .reshape((c * k * k, n * ho * wo))?;
    let y = w.reshape((c_out, c * k * k))?.matmul(&cols)?; // (c_out, N·H'·W')
    Ok(y.reshape((c_out, n, ho, wo))?
        .transpose(0, 1)?
        .contiguous()?)
}
