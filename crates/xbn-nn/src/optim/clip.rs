//! Gradient clipping by global norm.

use candle_core::{DType, Var, backprop::GradStore};

use super::error::Result;

/// Rescales the gradients of `params` so that their global norm
/// `‖g‖ = sqrt(Σ_p Σ g_p²)` is at most `max_norm` (PyTorch's `clip_grad_norm_`): when
/// `‖g‖ > max_norm` every gradient is multiplied by `max_norm / (‖g‖ + 1e-6)`.
/// Returns `‖g‖` before clipping; a non-finite norm leaves the gradients untouched (the caller
/// decides to stop). Parameters without a gradient are skipped.
pub fn clip_grad_norm(grads: &mut GradStore, params: &[Var], max_norm: f64) -> Result<f64> {
    let mut total = None;
    for var in params {
        if let Some(g) = grads.get(var.as_tensor()) {
            let sq = g.detach().to_dtype(DType::F32)?.sqr()?.sum_all()?;
            total = Some(match total {
                None => sq,
                Some(t) => (t + sq)?,
            });
        }
    }
    let Some(total) = total else {
        return Ok(0.0);
    };
    let norm = f64::from(total.to_scalar::<f32>()?).sqrt();
    if norm.is_finite() && norm > max_norm {
        let coef = max_norm / (norm + 1e-6);
        for var in params {
            if let Some(g) = grads.remove(var.as_tensor()) {
                grads.insert(var.as_tensor(), g.affine(coef, 0.0)?);
            }
        }
    }
    Ok(norm)
}
