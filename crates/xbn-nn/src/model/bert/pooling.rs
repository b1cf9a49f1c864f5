//! Pooling token states into one vector per sequence.

use candle_core::{D, Tensor};

use super::super::error::Result;

/// How the hidden states `H (N, L, h)` of a sequence become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPooling {
    /// `g = Σ_t m_t H_t / max(Σ_t m_t, 10⁻⁹)` over the attention mask `m` (sentence-transformers'
    /// `pooling_mode_mean_tokens`).
    Mean,
    /// `g = H_0`, the `[CLS]` token (`pooling_mode_cls_token`).
    Cls,
}

impl TokenPooling {
    /// Pools `hidden (N, L, h)` with `mask (N, L)` (1 = token) into `(N, h)`.
    pub fn apply(self, hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
        match self {
            TokenPooling::Cls => Ok(hidden.narrow(1, 0, 1)?.squeeze(1)?),
            TokenPooling::Mean => {
                let m = mask.to_dtype(hidden.dtype())?.unsqueeze(D::Minus1)?;
                let sum = hidden.broadcast_mul(&m)?.sum(1)?;
                let count = m.sum(1)?.clamp(1e-9, f64::INFINITY)?;
                Ok(sum.broadcast_div(&count)?)
            }
        }
    }
}
