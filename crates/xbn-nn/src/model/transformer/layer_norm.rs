//! Layer normalization over the last dimension, differentiable.

use candle_core::{Tensor, Var};

use super::super::error::Result;
use super::super::inference::param;
use super::super::params::{ParamRole, ParamStore};

pub use crate::kernels::layer_norm;

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

    /// Normalizes the last dimension of `x` ([`layer_norm`]).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(layer_norm(
            x,
            &param(&self.gamma),
            &param(&self.beta),
            self.eps,
        )?)
    }
}
