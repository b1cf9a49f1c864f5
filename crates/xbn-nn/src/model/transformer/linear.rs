//! A linear map over the last dimension.

use candle_core::{Tensor, Var};

use super::super::error::{ModelError, Result};
use super::super::inference::param;
use super::super::params::{ParamRole, ParamStore};

/// `y = x Wᵀ + b` over the last dimension of `x`, with `W` `(out, in)` named
/// `{prefix}.weight` and `b` `(out,)` named `{prefix}.bias`, as `torch.nn.Linear`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Var,
    bias: Option<Var>,
    in_dim: usize,
    out_dim: usize,
}

impl Linear {
    /// A linear map initialized as BERT and ViT initialize theirs: `W ~ N(0, std²)`, `b = 0`.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        std: f64,
        bias: bool,
        role: ParamRole,
    ) -> Result<Self> {
        if in_dim == 0 || out_dim == 0 {
            return Err(ModelError::InvalidConfig(format!(
                "linear {prefix}: dimensions must be positive, got {in_dim} → {out_dim}"
            )));
        }
        let weight = store.normal(&format!("{prefix}.weight"), &[out_dim, in_dim], std, role)?;
        let bias = if bias {
            Some(store.constant(&format!("{prefix}.bias"), &[out_dim], 0.0, role)?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            in_dim,
            out_dim,
        })
    }

    /// The output dimension.
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// Maps `(…, in)` to `(…, out)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let Some((&last, lead)) = dims.split_last() else {
            return Err(ModelError::BadInput {
                what: "linear input",
                expected: format!("(…, {})", self.in_dim),
                shape: dims,
            });
        };
        if last != self.in_dim {
            return Err(ModelError::BadInput {
                what: "linear input",
                expected: format!("(…, {})", self.in_dim),
                shape: dims,
            });
        }
        let rows: usize = lead.iter().product();
        let y = x
            .reshape((rows, self.in_dim))?
            .matmul(&param(&self.weight).t()?)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(&param(b))?,
            None => y,
        };
        let mut out = lead.to_vec();
        out.push(self.out_dim);
        Ok(y.reshape(out)?)
    }
}
