//! Multi-head self-attention with separate query, key and value projections.

use candle_core::{DType, Tensor};

use super::super::error::{ModelError, Result};
use super::super::params::{ParamRole, ParamStore};
use super::linear::Linear;

/// The weight-name prefixes of the four projections (each holds `.weight` and `.bias`), e.g.
/// BERT's `encoder.layer.0.attention.self.query` … `encoder.layer.0.attention.output.dense`.
#[derive(Debug, Clone)]
pub struct AttentionNames {
    /// Query projection.
    pub query: String,
    /// Key projection.
    pub key: String,
    /// Value projection.
    pub value: String,
    /// Output projection.
    pub output: String,
}

/// The additive attention bias of a padding mask `(N, L)` (1 = token, 0 = padding):
/// `(N, 1, 1, L)` with 0 for tokens and −10⁹ for padding, so that
/// `softmax(QKᵀ/√d_h + bias)` gives padding keys zero weight.
pub fn attention_bias(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let (n, l) = mask.dims2()?;
    let m = mask.to_dtype(DType::F32)?;
    Ok(((m - 1.0)? * 1e9)?.to_dtype(dtype)?.reshape((n, 1, 1, l))?)
}

/// `MHA(X) = concat_h(softmax(Q_h K_hᵀ / √d_h + bias) V_h) W_oᵀ + b_o`, with
/// `Q = X W_qᵀ + b_q` (likewise `K`, `V`) split into `heads` heads of `d_h = hidden / heads`.
#[derive(Debug, Clone)]
pub struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    heads: usize,
    head_dim: usize,
}

impl SelfAttention {
    /// Fresh projections of `hidden` features: query, key and value weights `N(0, std_in²)`,
    /// the output projection's `N(0, std_out²)`, zero biases.
    pub fn new(
        store: &mut ParamStore,
        names: &AttentionNames,
        hidden: usize,
        heads: usize,
        (std_in, std_out): (f64, f64),
    ) -> Result<Self> {
        if heads == 0 || hidden % heads != 0 {
            return Err(ModelError::InvalidConfig(format!(
                "{}: hidden size {hidden} is not a multiple of {heads} attention heads",
                names.query
            )));
        }
        let role = ParamRole::Backbone;
        Ok(Self {
            query: Linear::new(store, &names.query, hidden, hidden, std_in, true, role)?,
            key: Linear::new(store, &names.key, hidden, hidden, std_in, true, role)?,
            value: Linear::new(store, &names.value, hidden, hidden, std_in, true, role)?,
            output: Linear::new(store, &names.output, hidden, hidden, std_out, true, role)?,
            heads,
            head_dim: hidden / heads,
        })
    }

    /// `(N, L, hidden)` → `(N, heads, L, d_h)`.
    fn split_heads(&self, x: &Tensor) -> Result<Tensor> {
        let (n, l, _) = x.dims3()?;
        Ok(x.reshape((n, l, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?)
    }

    /// Attends over `x` `(N, L, hidden)`; `bias` is [`attention_bias`] of the padding mask
    /// (`None`: every position is a token).
    pub fn forward(&self, x: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let (n, l, hidden) = x.dims3()?;
        let q = self.split_heads(&self.query.forward(x)?)?;
        let k = self.split_heads(&self.key.forward(x)?)?;
        let v = self.split_heads(&self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let scores = match bias {
            Some(b) => scores.broadcast_add(b)?,
            None => scores,
        };
        let weights = crate::kernels::softmax_last_dim(&scores)?;
        let context = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((n, l, hidden))?;
        self.output.forward(&context)
    }
}
