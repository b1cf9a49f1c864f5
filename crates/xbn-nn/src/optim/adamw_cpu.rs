//! AdamW's update as three in-place passes over host memory (no temporaries), for CPU
//! parameters in `f32`/`f64`. The composed-op update in `adamw.rs` remains for other devices.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Error, InplaceOp2, InplaceOp3, Layout, Result, Tensor};
use rayon::prelude::*;

use crate::kernels::Element;
use crate::kernels::with_element;

/// Work below this many elements stays on one thread.
const PARALLEL_MIN: usize = 1 << 15;

/// The scalars of one parameter's step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamWStep {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// `η`.
    pub lr: f64,
    /// `λ`.
    pub weight_decay: f64,
    /// `1 − β₁ᵗ`.
    pub bias_correction1: f64,
    /// `√(1 − β₂ᵗ)`.
    pub bias_correction2_sqrt: f64,
}

/// Whether the in-place CPU update applies to these tensors (all contiguous, same float dtype).
pub(crate) fn applies(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor) -> bool {
    let dtype_ok = matches!(p.dtype(), DType::F32 | DType::F64);
    [p, g, m, v].iter().all(|t| {
        t.device().is_cpu() && t.dtype() == p.dtype() && t.is_contiguous() && t.dims() == p.dims()
    }) && dtype_ok
}

/// `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`, then
/// `p ← p·(1 − η·λ) − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)`, each tensor updated in place.
pub(crate) fn step(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, s: AdamWStep) -> Result<()> {
    m.inplace_op2(
        g,
        &Moment {
            beta: s.beta1,
            square: false,
        },
    )?;
    v.inplace_op2(
        g,
        &Moment {
            beta: s.beta2,
            square: true,
        },
    )?;
    p.inplace_op3(m, v, &Update(s))
}

fn slices<'a, T: Element>(dst: &'a mut CpuStorage, dst_l: &Layout) -> Result<&'a mut [T]> {
    let (start, end) = dst_l
        .contiguous_offsets()
        .ok_or_else(|| Error::Msg("AdamW: parameter or state is not contiguous".into()))?;
    let dtype = dst.dtype();
    let all = T::slice_mut(dst)
        .ok_or_else(|| Error::Msg(format!("AdamW: expected {:?}, got {dtype:?}", T::DTYPE)))?;
    Ok(&mut all[start..end])
}

fn src<'a, T: Element>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [T]> {
    crate::kernels::host_slice(s, l, "AdamW")
}

fn zip_apply<T: Element>(dst: &mut [T], f: impl Fn(usize, &mut T) + Sync + Send) {
    if dst.len() >= PARALLEL_MIN {
        dst.par_chunks_mut(PARALLEL_MIN)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (i, d) in chunk.iter_mut().enumerate() {
                    f(c * PARALLEL_MIN + i, d);
                }
            });
    } else {
        for (i, d) in dst.iter_mut().enumerate() {
            f(i, d);
        }
    }
}

/// An exponential moving average of `g` (or `g²`) in place.
struct Moment {
    beta: f64,
    square: bool,
}

impl Moment {
    fn run<T: Element>(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        g: &CpuStorage,
        g_l: &Layout,
    ) -> Result<()> {
        let g = src::<T>(g, g_l)?;
        let dst = slices::<T>(dst, dst_l)?;
        let (b, c) = (T::from_f64(self.beta), T::from_f64(1.0 - self.beta));
        let square = self.square;
        zip_apply(dst, |i, d| {
            let gi = g[i];
            let x = if square { gi * gi } else { gi };
            *d = b * *d + c * x;
        });
        Ok(())
    }
}

impl InplaceOp2 for Moment {
    fn name(&self) -> &'static str {
        "xbn-adamw-moment"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        g: &CpuStorage,
        g_l: &Layout,
    ) -> Result<()> {
        with_element!(g.dtype(), "AdamW", T => self.run::<T>(dst, dst_l, g, g_l))
    }
}

/// The decoupled-decay parameter update from the new moments, in place.
struct Update(AdamWStep);

impl Update {
    fn run<T: Element>(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        srcs: [(&CpuStorage, &Layout); 2],
    ) -> Result<()> {
        let [(m, m_l), (v, v_l)] = srcs;
        let (m, v) = (src::<T>(m, m_l)?, src::<T>(v, v_l)?);
        let p = slices::<T>(dst, dst_l)?;
        let s = self.0;
        let decay = T::from_f64(1.0 - s.lr * s.weight_decay);
        let step = T::from_f64(s.lr / s.bias_correction1);
        let inv_bc2 = T::from_f64(1.0 / s.bias_correction2_sqrt);
        let eps = T::from_f64(s.eps);
        zip_apply(p, |i, d| {
            let denom = v[i].sqrt() * inv_bc2 + eps;
            *d = *d * decay - step * (m[i] / denom);
        });
        Ok(())
    }
}

impl InplaceOp3 for Update {
    fn name(&self) -> &'static str {
        "xbn-adamw-update"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        m: &CpuStorage,
        m_l: &Layout,
        v: &CpuStorage,
        v_l: &Layout,
    ) -> Result<()> {
        let srcs = [(m, m_l), (v, v_l)];
        with_element!(dst.dtype(), "AdamW", T => self.run::<T>(dst, dst_l, srcs))
    }
}
