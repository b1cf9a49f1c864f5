//! Softmax over the last dimension, fused forward and backward.

use candle_core::{CpuStorage, CustomOp1, D, Layout, Result, Shape, Tensor};

use super::rows::{fused_applies, par_rows, par_rows2};
use super::storage::{cpu_tensor, layout_slice, with_slice};

/// `y_i = e^{x_i − max x} / Σ_j e^{x_j − max x}` over the last dimension.
///
/// On the CPU in f32 one fused pass per row forward and backward,
/// `∂L/∂x = y ⊙ (g − Σ_j g_j y_j)` from the kept output; elsewhere candle-nn's composed
/// `softmax` (candle's fused `softmax_last_dim` has no backward).
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if fused_applies(x) {
        x.contiguous()?.apply_op1(Softmax)
    } else {
        candle_nn::ops::softmax(x, D::Minus1)
    }
}

struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "softmax-last-dim"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = layout_slice::<f32>(s, l, "softmax")?;
        let d = l.dims().last().copied().unwrap_or(1);
        let y = par_rows(xs, d, |xs, ys| {
            let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (y, &x) in ys.iter_mut().zip(xs) {
                *y = (x - max).exp();
                sum += *y;
            }
            let inv = 1.0 / sum;
            ys.iter_mut().for_each(|y| *y *= inv);
        });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let (y, dy) = (y.contiguous()?, dy.contiguous()?);
        let d = y.dims().last().copied().unwrap_or(1);
        let op = "softmax backward";
        let dx = with_slice::<f32, _>(&y, op, |ys| {
            with_slice::<f32, _>(&dy, op, |gs| {
                par_rows2(ys, gs, d, |ys, gs, out| {
                    let dot: f32 = ys.iter().zip(gs).map(|(y, g)| y * g).sum();
                    for ((o, &y), &g) in out.iter_mut().zip(ys).zip(gs) {
                        *o = y * (g - dot);
                    }
                })
            })
        })??;
        Ok(Some(cpu_tensor(dx, y.dims())?))
    }
}
