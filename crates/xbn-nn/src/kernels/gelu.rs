//! GELU with the exact normal CDF, fused forward and backward.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::rows::{fused_applies, par_rows, par_rows2};
use super::storage::{cpu_tensor, layout_slice, with_slice};

/// `y = x · Φ(x) = ½ x (1 + erf(x / √2))` (`torch.nn.functional.gelu`), elementwise.
///
/// On the CPU in f32 one fused pass forward and one backward, `∂y/∂x = Φ(x) + x φ(x)` with
/// `φ(x) = e^{−x²/2} / √(2π)`, recomputed from the kept input; elsewhere candle's `gelu_erf`
/// (whose backward composes about ten elementwise passes).
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if fused_applies(x) {
        x.contiguous()?.apply_op1(GeluErf)
    } else {
        x.gelu_erf()
    }
}

const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1 / √(2π)`.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

fn cdf(x: f32) -> f32 {
    0.5 * (1.0 + candle_core::cpu::erf::erf_f32(x * FRAC_1_SQRT_2))
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "gelu-erf"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = layout_slice::<f32>(s, l, "gelu-erf")?;
        let d = l.dims().last().copied().unwrap_or(1);
        let y = par_rows(xs, d, |xs, ys| {
            for (y, &x) in ys.iter_mut().zip(xs) {
                *y = x * cdf(x);
            }
        });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let dy = dy.contiguous()?;
        let d = x.dims().last().copied().unwrap_or(1);
        let op = "gelu-erf backward";
        let dx = with_slice::<f32, _>(x, op, |xs| {
            with_slice::<f32, _>(&dy, op, |gs| {
                par_rows2(xs, gs, d, |xs, gs, out| {
                    for ((o, &x), &g) in out.iter_mut().zip(xs).zip(gs) {
                        *o = g * (cdf(x) + x * FRAC_1_SQRT_2PI * (-0.5 * x * x).exp());
                    }
                })
            })
        })??;
        Ok(Some(cpu_tensor(dx, x.dims())?))
    }
}
