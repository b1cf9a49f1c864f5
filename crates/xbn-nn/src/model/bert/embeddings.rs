//! BERT's input embeddings.

use candle_core::{Tensor, Var};

use super::super::error::{ModelError, Result};
use super::super::inference::param;
use super::super::params::{ParamRole, ParamStore};
use super::super::transformer::LayerNorm;
use super::config::BertConfig;

/// `E = LN(W_word[ids] + W_pos[0..L] + W_type[0])` (`embeddings.*`); every sequence is one
/// segment (token type 0), as in sentence embedding.
#[derive(Debug, Clone)]
pub struct BertEmbeddings {
    word: Var,
    position: Var,
    token_type: Var,
    norm: LayerNorm,
    hidden: usize,
    max_positions: usize,
}

impl BertEmbeddings {
    /// Fresh embeddings (`N(0, initializer_range²)`).
    pub fn new(store: &mut ParamStore, config: &BertConfig) -> Result<Self> {
        let e = &config.encoder;
        let std = e.initializer_range;
        let role = ParamRole::Backbone;
        let h = e.hidden_size;
        Ok(Self {
            word: store.normal(
                "embeddings.word_embeddings.weight",
                &[e.vocab_size, h],
                std,
                role,
            )?,
            position: store.normal(
                "embeddings.position_embeddings.weight",
                &[e.max_position_embeddings, h],
                std,
                role,
            )?,
            token_type: store.normal(
                "embeddings.token_type_embeddings.weight",
                &[e.type_vocab_size, h],
                std,
                role,
            )?,
            norm: LayerNorm::new(store, "embeddings.LayerNorm", h, e.layer_norm_eps)?,
            hidden: h,
            max_positions: e.max_position_embeddings,
        })
    }

    /// Embeds `ids (N, L)` into `(N, L, hidden)`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (n, l) = ids.dims2()?;
        if l > self.max_positions {
            return Err(ModelError::BadInput {
                what: "token ids",
                expected: format!(
                    "at most {} tokens per sequence (max_position_embeddings)",
                    self.max_positions
                ),
                shape: vec![n, l],
            });
        }
        let words = param(&self.word)
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((n, l, self.hidden))?;
        let positions = param(&self.position).narrow(0, 0, l)?;
        let segment = param(&self.token_type).narrow(0, 0, 1)?;
        let x = words.broadcast_add(&positions)?.broadcast_add(&segment)?;
        self.norm.forward(&x)
    }
}
