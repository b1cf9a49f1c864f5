//! `softplus(x) = log(1 + eˣ)`, stable in both tails, with `log1p` (as PyTorch's softplus).
//!
//! The textbook `max(x, 0) + log(1 + e^{−|x|})` rounds `1 + e^{−|x|}` to 1 once `e^{−|x|}` is
//! below half an ulp of 1 (`x ≲ −16.6` in f32, `≲ −36.7` in f64) and returns exactly 0, where
//! `log1p` keeps `eˣ`. A loss reduced with [`crate::Reduction::AvgNonZero`] then stops counting
//! that element and divides by too little (circle loss, γ = 80, in f32).

use candle_core::{DType, Tensor};

use crate::Result;
use crate::elementwise::{CpuElementwise, Elementwise};

/// Elementwise `softplus(x) = max(x, 0) + log1p(e^{−|x|})`, gradient `σ(x)`. Any shape,
/// f32/f64. One fused pass on the CPU (forward and backward); tensor ops elsewhere
/// ([`softplus_tensor_ops`]).
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) {
        return Ok(x.contiguous()?.apply_op1(CpuElementwise(Softplus))?);
    }
    softplus_tensor_ops(x)
}

/// [`softplus`] from candle's elementwise ops (any device). The value uses `log1p(t)`,
/// `t = e^{−|x|}`, computed as `log(u) · t / (u − 1)` with `u = 1 + t` (`t` itself where `u`
/// rounds to 1; Goldberg 1991, theorem 4); the gradient is `σ(x)`, attached through
/// `σ(x)·x − (σ(x)·x)` (value 0).
pub fn softplus_tensor_ops(x: &Tensor) -> Result<Tensor> {
    let xd = x.detach();
    let t = xd.abs()?.neg()?.exp()?; // e^{−|x|} ∈ (0, 1]
    let u = t.affine(1.0, 1.0)?;
    let d = u.affine(1.0, -1.0)?;
    let rounds_to_one = d.eq(0.0)?;
    let safe_d = rounds_to_one.where_cond(&Tensor::ones_like(&d)?, &d)?;
    let log1p = rounds_to_one.where_cond(&t, &u.log()?.mul(&t)?.div(&safe_d)?)?;
    let value = xd.relu()?.add(&log1p)?;
    let sigmoid = xd.ge(0.0)?.where_cond(&u.recip()?, &t.div(&u)?)?;
    let sx = x.mul(&sigmoid)?;
    Ok(value.add(&sx.sub(&sx.detach())?)?)
}

/// `softplus(x)` in f64 arithmetic.
#[inline]
fn softplus_f64(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `σ(x) = 1 / (1 + e^{−x})`, without overflow for either sign.
#[inline]
fn sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

struct Softplus;

impl Elementwise for Softplus {
    fn name(&self) -> &'static str {
        "softplus"
    }

    fn value(&self, x: f64) -> f64 {
        softplus_f64(x)
    }

    fn grad(&self, x: f64, g: f64) -> f64 {
        sigmoid_f64(x) * g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn values(t: &Tensor) -> Vec<f64> {
        t.to_dtype(DType::F64)
            .and_then(|t| t.to_vec1::<f64>())
            .unwrap_or_default()
    }

    #[test]
    fn both_paths_keep_the_tail_in_f32() -> Result<()> {
        let xs = [
            -80.0f32, -40.0, -20.0, -17.0, -1.0, 0.0, 1e-3, 1.0, 20.0, 100.0,
        ];
        let x = Tensor::new(&xs, &Device::Cpu)?;
        for (name, y) in [
            ("op", softplus(&x)?),
            ("tensor ops", softplus_tensor_ops(&x)?),
        ] {
            for (xi, yi) in xs.iter().zip(values(&y)) {
                let want = softplus_f64(*xi as f64);
                assert!(
                    (yi - want).abs() <= 4.0 * f32::EPSILON as f64 * want.abs(),
                    "{name}: softplus({xi}) = {yi}, want {want}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn gradient_is_the_sigmoid_on_both_paths() -> Result<()> {
        let xs = [-30.0f64, -20.0, -1.0, 0.0, 2.0, 40.0];
        for path in [softplus, softplus_tensor_ops] {
            let x = candle_core::Var::new(&xs, &Device::Cpu)?;
            let g = path(x.as_tensor())?.sum_all()?.backward()?;
            let got = g.get(x.as_tensor()).map(values).unwrap_or_default();
            assert_eq!(got.len(), xs.len());
            for (xi, gi) in xs.iter().zip(got) {
                let want = sigmoid_f64(*xi);
                assert!(
                    (gi - want).abs() <= 1e-12 * want,
                    "σ({xi}) = {gi}, want {want}"
                );
            }
        }
        Ok(())
    }
}
