//! The position-wise feed-forward block.

use candle_core::Tensor;

use super::super::error::Result;
use super::super::params::{ParamRole, ParamStore};
use super::linear::Linear;

/// The nonlinearity between the two linear maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x · Φ(x)` with the exact normal CDF (`torch.nn.functional.gelu`, BERT's `gelu`;
    /// [`crate::kernels::gelu_erf`]).
    Gelu,
    /// The tanh approximation of GELU (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// `x · σ(1.702 x)` (CLIP's `quick_gelu`).
    QuickGelu,
    /// `max(x, 0)`.
    Relu,
}

impl Activation {
    /// Applies the activation elementwise.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Gelu => crate::kernels::gelu_erf(x)?,
            Activation::GeluTanh => x.gelu()?,
            Activation::QuickGelu => (x * candle_nn::ops::sigmoid(&(x * 1.702)?)?)?,
            Activation::Relu => x.relu()?,
        })
    }
}

/// `FFN(x) = act(x W₁ᵀ + b₁) W₂ᵀ + b₂`, expanding `hidden` to `intermediate` and back.
#[derive(Debug, Clone)]
pub struct FeedForward {
    up: Linear,
    down: Linear,
    activation: Activation,
}

impl FeedForward {
    /// Fresh maps named `{up}.weight`/`.bias` (weights `N(0, std_up²)`) and
    /// `{down}.weight`/`.bias` (`N(0, std_down²)`), zero biases.
    pub fn new(
        store: &mut ParamStore,
        (up, down): (&str, &str),
        hidden: usize,
        intermediate: usize,
        activation: Activation,
        (std_up, std_down): (f64, f64),
    ) -> Result<Self> {
        let role = ParamRole::Backbone;
        Ok(Self {
            up: Linear::new(store, up, hidden, intermediate, std_up, true, role)?,
            down: Linear::new(store, down, intermediate, hidden, std_down, true, role)?,
            activation,
        })
    }

    /// Maps `(…, hidden)` to `(…, hidden)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.down
            .forward(&self.activation.apply(&self.up.forward(x)?)?)
    }
}
