//! `A · Rᵀ` with a constant (detached) `R`, without the wasted `R` gradient.
//!
//! candle's autograd computes both operand gradients of a matmul even when one operand is a
//! constant; for the memory term that is a second `(d × b)·(b × m)` matmul and an `(m × d)`
//! buffer per iteration. This op's backward returns only `∂/∂A = G · R`.

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Storage, Tensor};

use crate::Result;

/// `anchors (b × d) · refs (m × d)ᵀ → (b × m)`, differentiable in `anchors` only. On the CPU it
/// runs as a custom op; elsewhere it falls back to candle's matmul (same values and anchor
/// gradient, plus the unused reference gradient).
pub fn matmul_const_refs(anchors: &Tensor, refs: &Tensor) -> Result<Tensor> {
    if !anchors.device().is_cpu() || !refs.device().is_cpu() {
        return Ok(anchors.matmul(&refs.t()?)?);
    }
    let op = MatmulConstRhs {
        refs: refs.detach(),
        refs_t: refs.detach().t()?,
    };
    Ok(anchors.apply_op1(op)?)
}

struct MatmulConstRhs {
    refs: Tensor,
    refs_t: Tensor,
}

impl CustomOp1 for MatmulConstRhs {
    fn name(&self) -> &'static str {
        "matmul-const-refs"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("matmul-const-refs: non-contiguous".into()))?;
        let dev = Device::Cpu;
        let a = match storage {
            CpuStorage::F32(v) => Tensor::from_slice(&v[start..end], layout.shape(), &dev)?,
            CpuStorage::F64(v) => Tensor::from_slice(&v[start..end], layout.shape(), &dev)?,
            _ => {
                return Err(candle_core::Error::Msg(
                    "matmul-const-refs: embeddings must be f32 or f64".into(),
                ));
            }
        };
        let out = a.matmul(&self.refs_t)?;
        let shape = out.shape().clone();
        let (guard, out_layout) = out.storage_and_layout();
        match (&*guard, out_layout.contiguous_offsets()) {
            (Storage::Cpu(s), Some((0, n))) if n == shape.elem_count() => Ok((s.clone(), shape)),
            _ => Err(candle_core::Error::Msg(
                "matmul-const-refs: unexpected matmul output layout".into(),
            )),
        }
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad_res.matmul(&self.refs)?))
    }
}
