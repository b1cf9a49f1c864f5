//! One BERT encoder layer (post-norm).

use candle_core::Tensor;

use super::super::error::Result;
use super::super::params::ParamStore;
use super::super::transformer::{AttentionNames, FeedForward, LayerNorm, SelfAttention};
use super::config::BertConfig;

/// `X' = LN₁(X + MHA(X))`, `Y = LN₂(X' + FFN(X'))`, under `encoder.layer.{i}.*`.
#[derive(Debug, Clone)]
pub struct BertLayer {
    attention: SelfAttention,
    attention_norm: LayerNorm,
    feed_forward: FeedForward,
    output_norm: LayerNorm,
}

impl BertLayer {
    /// Fresh layer number `index`.
    pub fn new(store: &mut ParamStore, config: &BertConfig, index: usize) -> Result<Self> {
        let e = &config.encoder;
        let p = format!("encoder.layer.{index}");
        let std = e.initializer_range;
        let names = AttentionNames {
            query: format!("{p}.attention.self.query"),
            key: format!("{p}.attention.self.key"),
            value: format!("{p}.attention.self.value"),
            output: format!("{p}.attention.output.dense"),
        };
        Ok(Self {
            attention: SelfAttention::new(
                store,
                &names,
                e.hidden_size,
                e.num_attention_heads,
                (std, std),
            )?,
            attention_norm: LayerNorm::new(
                store,
                &format!("{p}.attention.output.LayerNorm"),
                e.hidden_size,
                e.layer_norm_eps,
            )?,
            feed_forward: FeedForward::new(
                store,
                (
                    &format!("{p}.intermediate.dense"),
                    &format!("{p}.output.dense"),
                ),
                e.hidden_size,
                e.intermediate_size,
                config.activation(),
                (std, std),
            )?,
            output_norm: LayerNorm::new(
                store,
                &format!("{p}.output.LayerNorm"),
                e.hidden_size,
                e.layer_norm_eps,
            )?,
        })
    }

    /// Runs the layer on `x (N, L, hidden)` with the attention bias of the padding mask.
    pub fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let x = self
            .attention_norm
            .forward(&(x + self.attention.forward(x, Some(bias))?)?)?;
        self.output_norm
            .forward(&(&x + self.feed_forward.forward(&x)?)?)
    }
}
