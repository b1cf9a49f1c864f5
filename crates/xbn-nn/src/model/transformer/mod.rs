//! Trainable transformer building blocks: layer normalization, linear maps, multi-head
//! self-attention and the feed-forward block, written with candle ops that all have a backward.
//!
//! candle-transformers' models are written for inference: candle-nn's `LayerNorm` runs the fused
//! `ops::layer_norm` custom op on contiguous input, and that op (like `softmax_last_dim`) has no
//! backward. These modules compose the same computations from differentiable ops, keep their
//! parameters as [`candle_core::Var`]s of a [`super::ParamStore`], and read the weight names of
//! the Hugging Face checkpoints.

mod attention;
mod feed_forward;
mod layer_norm;
mod linear;

pub use attention::{AttentionNames, SelfAttention, attention_bias};
pub use feed_forward::{Activation, FeedForward};
pub use layer_norm::{LayerNorm, layer_norm};
pub use linear::Linear;
