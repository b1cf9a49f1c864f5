//! The embedding head: linear → L2 normalization, after the backbone's global pooling
//! ([`super::Pooling`]). As in XBM's reference (`linear_norm`).

use candle_core::{Tensor, Var};

use super::error::{ModelError, Result};
use super::inference::param;
use super::params::{ParamRole, ParamStore};

/// `z = normalize(g Wᵀ + b)`: a linear map from pooled features (`in_dim`) to the embedding
/// (`out_dim`), named `{prefix}.weight` `(out_dim, in_dim)` and `{prefix}.bias`, initialized as
/// PyTorch's `nn.Linear` (`U(−1/√in_dim, 1/√in_dim)`).
#[derive(Debug, Clone)]
pub struct EmbeddingHead {
    weight: Var,
    bias: Var,
    in_dim: usize,
    out_dim: usize,
}

impl EmbeddingHead {
    /// A randomly initialized head in the [`ParamRole::Head`] group.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
    ) -> Result<Self> {
        if in_dim == 0 || out_dim == 0 {
            return Err(ModelError::InvalidConfig(format!(
                "embedding head {prefix}: dimensions must be positive, got {in_dim} → {out_dim}"
            )));
        }
        let bound = 1.0 / (in_dim as f64).sqrt();
        Ok(Self {
            weight: store.uniform(
                &format!("{prefix}.weight"),
                &[out_dim, in_dim],
                bound,
                ParamRole::Head,
            )?,
            bias: store.uniform(
                &format!("{prefix}.bias"),
                &[out_dim],
                bound,
                ParamRole::Head,
            )?,
            in_dim,
            out_dim,
        })
    }

    /// The embedding dimension `d`.
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// Maps `(n × in_dim)` features to `(n × d)` unit-norm embeddings.
    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
        let dims = features.dims();
        if dims.len() != 2 || dims[1] != self.in_dim {
            return Err(ModelError::BadInput {
                what: "embedding head input",
                expected: format!("(n × {})", self.in_dim),
                shape: dims.to_vec(),
            });
        }
        let y = features
            .matmul(&param(&self.weight).t()?)?
            .broadcast_add(&param(&self.bias))?;
        Ok(xbn_core::l2_normalize_rows(&y)?)
    }
}
