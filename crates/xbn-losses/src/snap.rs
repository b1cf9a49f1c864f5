//! Cosine similarities within rounding error of ±1 snapped to exactly ±1.
//!
//! Normalizing two identical rows and taking their dot product gives `1 − 1.2e-7` (f32) or
//! `1 − 1.1e-16` (f64) rather than 1; a positive pair of duplicates then carries a tiny
//! positive loss that [`crate::Reduction::AvgNonZero`] counts, where PyTorch gets exactly 1 and
//! nothing. Entries with `| |S_ij| − 1 | ≤ 8 ε_dtype` become `sign(S_ij)` with zero gradient
//! (the gradient of a cosine at ±1 is 0). For unit rows this is the same tolerance as the
//! Euclidean snap (`‖â − r̂‖² = 2 − 2S ≤ 16 ε`, see [`crate::Distance`]).

use candle_core::{DType, Tensor};

use crate::Result;
use crate::elementwise::{CpuElementwise, Elementwise};

/// Snap tolerance in units of the dtype's machine epsilon.
pub(crate) const SNAP_FACTOR: f64 = 8.0;

/// `SNAP_FACTOR · ε` for `dtype` (f64's epsilon for f64, f32's for anything else).
pub(crate) fn snap_tolerance(dtype: DType) -> f64 {
    let eps = match dtype {
        DType::F64 => f64::EPSILON,
        _ => f32::EPSILON as f64,
    };
    SNAP_FACTOR * eps
}

/// `x` snapped to `±1` when within `tol` of it, and whether it was.
#[inline]
pub(crate) fn snap_value(x: f64, tol: f64) -> (f64, bool) {
    if (x.abs() - 1.0).abs() <= tol {
        (x.signum(), true)
    } else {
        (x, false)
    }
}

/// `s` with every entry within `8 ε_dtype` of ±1 replaced by ±1 (zero gradient there); other
/// entries and their gradient pass unchanged. Any shape, f32/f64. One fused pass on the CPU,
/// tensor ops elsewhere.
pub(crate) fn snap_unit(s: &Tensor) -> Result<Tensor> {
    let tol = snap_tolerance(s.dtype());
    if s.device().is_cpu() && matches!(s.dtype(), DType::F32 | DType::F64) {
        return Ok(s
            .contiguous()?
            .apply_op1(CpuElementwise(SnapUnit { tol }))?);
    }
    snap_unit_tensor_ops(s)
}

/// [`snap_unit`] from candle's elementwise ops (any device).
pub(crate) fn snap_unit_tensor_ops(s: &Tensor) -> Result<Tensor> {
    let tol = snap_tolerance(s.dtype());
    let near = s.abs()?.affine(1.0, -1.0)?.abs()?.le(tol)?;
    let ones = Tensor::ones_like(s)?;
    let unit = s.ge(0.0)?.where_cond(&ones, &ones.neg()?)?;
    Ok(near.where_cond(&unit, s)?)
}

struct SnapUnit {
    tol: f64,
}

impl Elementwise for SnapUnit {
    fn name(&self) -> &'static str {
        "snap-unit"
    }

    fn value(&self, x: f64) -> f64 {
        snap_value(x, self.tol).0
    }

    fn grad(&self, x: f64, g: f64) -> f64 {
        if snap_value(x, self.tol).1 { 0.0 } else { g }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use candle_core::Var;

    use super::*;

    #[test]
    fn snaps_within_eight_eps_of_plus_and_minus_one_with_zero_gradient() -> Result<()> {
        let e = f32::EPSILON;
        let xs = [
            1.0 - 2.0 * e,
            1.0 + e,
            -1.0 + 4.0 * e,
            1.0 - 16.0 * e,
            0.5,
            -0.99,
            1.0,
        ];
        let want = [1.0, 1.0, -1.0, 1.0 - 16.0 * e, 0.5, -0.99, 1.0];
        let want_grad = [0.0f32, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        for path in [snap_unit, snap_unit_tensor_ops] {
            let x = Var::new(&xs, &Device::Cpu)?;
            let y = path(x.as_tensor())?;
            assert_eq!(y.to_vec1::<f32>()?, want);
            let grads = y.sum_all()?.backward()?;
            let g = grads.get(x.as_tensor()).map(|g| g.to_vec1::<f32>());
            assert_eq!(g.transpose()?, Some(want_grad.to_vec()));
        }
        Ok(())
    }

    #[test]
    fn f64_tolerance_is_eight_f64_eps() -> Result<()> {
        let e = f64::EPSILON;
        let x = Tensor::new(&[1.0 - 8.0 * e, 1.0 - 9.0 * e, 1.0 - 2e-7], &Device::Cpu)?;
        let y = snap_unit(&x)?.to_vec1::<f64>()?;
        assert_eq!(y, [1.0, 1.0 - 9.0 * e, 1.0 - 2e-7]);
        Ok(())
    }
}
