//! Layer normalization over the last dimension, differentiable.

use candle_core::{D, DType, Tensor, Var};

use super::super::error::Result;
use super::super::inference::param;
use super::super::params::{ParamRole, ParamStore};

/// `y = (x − μ) / √(σ² + ε) · γ + β` over the last dimension of `x`, with
/// `μ = mean(x)` and `σ² = mean((x − μ)²)` (the biased variance, as `torch.nn.LayerNorm`),
/// computed in f32 for half-precision input.
///
/// Built from candle ops that all have a backward (sum, broadcast arithmetic, sqrt), unlike
/// candle-nn's fused `ops::layer_norm`.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    let dtype = x.dtype();
    let x = match dtype {
        DType::F16 | DType::BF16 => x.to_dtype(DType::F32)?,
        _ => x.clone(),
    };
    let d = x.dim(D::Minus1)? as f64;
    let mean = (x.sum_keepdim(D::Minus1)? / d)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = (centred.sqr()?.sum_keepdim(D::Minus1)? / d)?;
    let normed = centred.broadcast_div(&(var + eps)?.sqrt()?)?;
    Ok(normed
        .to_dtype(dtype)?
        .broadcast_mul(gamma)?
        .broadcast_add(beta)?)
}

/// A layer normalization with learned scale `γ` (`{prefix}.weight`, ones) and shift `β`
/// (`{prefix}.bias`, zeros); see [`layer_norm`].
#[derive(Debug, Clone)]
pub struct LayerNorm {
    gamma: Var,
    beta: Var,
    eps: f64,
}

impl LayerNorm {
    /// A fresh layer norm over `dim` features, named `{prefix}.weight` and `{prefix}.bias`.
    pub fn new(store: &mut ParamStore, prefix: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            gamma: store.constant(
                &format!("{prefix}.weight"),
                &[dim],
                1.0,
                ParamRole::Backbone,
            )?,
            beta: store.constant(&format!("{prefix}.bias"), &[dim], 0.0, ParamRole::Backbone)?,
            eps,
        })
    }

    /// Normalizes the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        layer_norm(x, &param(&self.gamma), &param(&self.beta), self.eps)
    }
}
