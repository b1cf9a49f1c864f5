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
/// The `k²` shifted (and, for `s > 1`, strided) views of `x̃` in `(C, N, H', W')` layout are
/// stacked into a `(C·k², N·H'·W')` matrix and multiplied by `W` reshaped `(c_out, C·k²)`. Its
/// gradient is two matrix products plus slicing, much faster on a CPU than candle 0.11's
/// transposed-convolution backward; the values equal `Tensor::conv2d`.
pub fn conv2d_unfold(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let (c_out, c_in, k, k2) = w.dims4()?;
    if c_in != c || k != k2 || stride == 0 || h + 2 * padding < k || wd + 2 * padding < k {
        // Let candle produce its usual shape error for inconsistent inputs.
        return Ok(x.conv2d(w, padding, stride, 1, 1)?);
    }
    let ho = (h + 2 * padding - k) / stride + 1;
    let wo = (wd + 2 * padding - k) / stride + 1;
    let xc = x.transpose(0, 1)?; // (C, N, H, W)
    let xc = if padding > 0 {
        xc.pad_with_zeros(2, padding, padding)?
            .pad_with_zeros(3, padding, padding)?
            .contiguous()?
    } else {
        xc.contiguous()?
    };
    let select = |t: &Tensor, dim: usize, offset: usize, len: usize| -> Result<Tensor> {
        if stride == 1 {
            return Ok(t.narrow(dim, offset, len)?);
        }
        let idx: Vec<u32> = (0..len).map(|i| (offset + i * stride) as u32).collect();
        Ok(t.index_select(&Tensor::new(idx, t.device())?, dim)?)
    };
    let cols = if k == 1 {
        select(&select(&xc, 2, 0, ho)?, 3, 0, wo)?.reshape((c, n * ho * wo))?
    } else {
        let mut views = Vec::with_capacity(k * k);
        for a in 0..k {
            let rows = select(&xc, 2, a, ho)?;
            for b in 0..k {
                views.push(select(&rows, 3, b, wo)?);
            }
        }
        Tensor::stack(&views, 1)?.reshape((c * k * k, n * ho * wo))?
    };
    let y = w.reshape((c_out, c * k * k))?.matmul(&cols)?; // (c_out, N·H'·W')
    Ok(y.reshape((c_out, n, ho, wo))?
        .transpose(0, 1)?
        .contiguous()?)
}
