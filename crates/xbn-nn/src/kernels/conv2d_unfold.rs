//! Convolution composed of differentiable candle ops: the path for devices without a kernel.

use candle_core::{Result, Tensor};

use super::conv2d::{Conv2dParams, ConvGeometry};

/// Convolution as one matrix product over unfolded patches ("im2col" from differentiable ops),
/// the same map as [`super::conv2d`]:
/// `y[n,o,i,j] = Σ_{c,a,b} W[o,c,a,b] · x̃[n,c, s·i + a, s·j + b]` with `x̃` zero-padded by `p`.
///
/// All `kh·kw` shifted, strided windows of `x̃` (in `(C, N, H, W)` layout) are gathered with one
/// `index_select` into a `(C·kh·kw, N·H'·W')` matrix that is multiplied by `W` reshaped
/// `(O, C·kh·kw)`. Its gradient is two matrix products and one `index_add` on every device
/// (candle 0.11's own conv backward takes the width's output padding from the height, which is
/// wrong for non-square inputs with stride 2). Autograd keeps the unfolded matrix until
/// backward, so this path needs about `kh·kw` times the memory of the CPU kernel.
pub fn conv2d_unfold(x: &Tensor, w: &Tensor, params: Conv2dParams) -> Result<Tensor> {
    let g = ConvGeometry::new(x.dims(), w.dims(), params)?;
    let (n, c, p) = (g.n, g.c_in, g.pad);
    let (hp, wp) = (g.h + 2 * p, g.w + 2 * p);
    let xc = x.transpose(0, 1)?; // (C, N, H, W)
    let xc = if p > 0 {
        xc.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?
    } else {
        xc
    };
    if g.kh == 1 && g.kw == 1 && g.stride == 1 && p == 0 {
        // A 1×1 convolution is a plain matrix product over the channels.
        let cols = xc.contiguous()?.reshape((c, n * g.h * g.w))?;
        let y = w.reshape((g.c_out, c))?.matmul(&cols)?;
        return y
            .reshape((g.c_out, n, g.h, g.w))?
            .transpose(0, 1)?
            .contiguous();
    }
    // One gather of all kh·kw shifted, strided windows from the flattened padded plane:
    // column (a, b, i, j) reads pixel (s·i + a, s·j + b).
    let mut idx = Vec::with_capacity(g.kh * g.kw * g.positions());
    for a in 0..g.kh {
        for b in 0..g.kw {
            for i in 0..g.ho {
                for j in 0..g.wo {
                    idx.push(((g.stride * i + a) * wp + g.stride * j + b) as u32);
                }
            }
        }
    }
    let idx = Tensor::new(idx, x.device())?;
    let flat = xc.contiguous()?.reshape((c, n, hp * wp))?;
    let cols = flat
        .index_select(&idx, 2)? // (C, N, kh·kw·H'·W')
        .reshape((c, n, g.kh * g.kw, g.positions()))?
        .transpose(1, 2)? // (C, kh·kw, N, H'·W')
        .contiguous()?
        .reshape((g.patch_len(), n * g.positions()))?;
    let y = w.reshape((g.c_out, g.patch_len()))?.matmul(&cols)?; // (O, N·H'·W')
    y.reshape((g.c_out, n, g.ho, g.wo))?
        .transpose(0, 1)?
        .contiguous()
}
