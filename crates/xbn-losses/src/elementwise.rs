//! Elementwise CPU ops with their own backward, as candle [`CustomOp1`]s: `y = f(x)` and
//! `∂L/∂x = f′(x; ∂L/∂y)`, one parallel pass each, computed in f64 for f32 and f64 tensors
//! (an f32 value that `f` or `f′` passes through unchanged round-trips exactly).

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Storage, Tensor, WithDType};
use rayon::prelude::*;

/// One elementwise function and its backward.
pub(crate) trait Elementwise: Send + Sync {
    /// The op's name in errors.
    fn name(&self) -> &'static str;
    /// `f(x)`.
    fn value(&self, x: f64) -> f64;
    /// `∂L/∂x` from `x` and `g = ∂L/∂y`.
    fn grad(&self, x: f64, g: f64) -> f64;
}

/// An [`Elementwise`] applied on the CPU (contiguous f32/f64 input).
pub(crate) struct CpuElementwise<E>(pub E);

fn bad(name: &str, msg: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("{name}: {msg}"))
}

fn offsets(name: &str, layout: &Layout) -> candle_core::Result<(usize, usize)> {
    layout
        .contiguous_offsets()
        .ok_or_else(|| bad(name, "non-contiguous input"))
}

impl<E: Elementwise> CpuElementwise<E> {
    fn forward<T: WithDType>(&self, v: &[T]) -> Vec<T> {
        v.par_iter()
            .map(|x| T::from_f64(self.0.value(x.to_f64())))
            .collect()
    }

    fn backward<T: WithDType>(&self, v: &[T], g: &[T]) -> Vec<T> {
        v.par_iter()
            .zip(g)
            .map(|(x, g)| T::from_f64(self.0.grad(x.to_f64(), g.to_f64())))
            .collect()
    }
}

impl<E: Elementwise> CustomOp1 for CpuElementwise<E> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let name = self.0.name();
        let (start, end) = offsets(name, layout)?;
        let out = match storage {
            CpuStorage::F32(v) => CpuStorage::F32(self.forward(&v[start..end])),
            CpuStorage::F64(v) => CpuStorage::F64(self.forward(&v[start..end])),
            _ => return Err(bad(name, "input must be f32 or f64")),
        };
        Ok((out, layout.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let name = self.0.name();
        let (guard, layout) = arg.storage_and_layout();
        let (start, end) = offsets(name, layout)?;
        let shape = arg.shape().clone();
        let dev = Device::Cpu;
        let grad = match &*guard {
            Storage::Cpu(CpuStorage::F32(v)) => {
                let g = grad_res.flatten_all()?.to_vec1::<f32>()?;
                Tensor::from_vec(self.backward(&v[start..end], &g), shape, &dev)?
            }
            Storage::Cpu(CpuStorage::F64(v)) => {
                let g = grad_res.flatten_all()?.to_vec1::<f64>()?;
                Tensor::from_vec(self.backward(&v[start..end], &g), shape, &dev)?
            }
            _ => return Err(bad(name, "input must be f32 or f64 on the CPU")),
        };
        Ok(Some(grad))
    }
}
