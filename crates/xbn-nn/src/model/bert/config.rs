//! The configuration of a BERT sentence encoder.

use std::path::Path;

use candle_transformers::models::bert::{Config, HiddenAct, PositionEmbeddingType};

use super::super::error::{ModelError, Result};
use super::super::transformer::Activation;
use super::pooling::TokenPooling;

/// A BERT encoder (candle-transformers' [`Config`], read from a checkpoint's `config.json`) with
/// the sentence-embedding pooling and an optional linear head.
#[derive(Debug, Clone)]
pub struct BertConfig {
    /// The encoder's sizes, as in Hugging Face's `config.json`.
    pub encoder: Config,
    /// How token states become one vector.
    pub pooling: TokenPooling,
    /// A linear head to this many dimensions after pooling (`head.weight`, `head.bias`);
    /// `None`: the pooled vector is the embedding, as in sentence-transformers.
    pub head_dim: Option<usize>,
    /// Seed of the random initialization.
    pub seed: u64,
}

impl BertConfig {
    /// Reads the encoder sizes from a Hugging Face `config.json`; mean pooling, no head.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bad = |reason: String| ModelError::WeightFile {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let encoder: Config =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a BERT config.json: {e}")))?;
        if let Some(kind) = encoder.model_type.as_deref() {
            if !matches!(kind, "bert" | "minilm") {
                return Err(bad(format!(
                    "model_type `{kind}` is not a BERT-family model (expected `bert`)"
                )));
            }
        }
        let config = Self {
            encoder,
            pooling: TokenPooling::Mean,
            head_dim: None,
            seed: 0,
        };
        config.validate()?;
        Ok(config)
    }

    /// A tiny random BERT for tests: `hidden` features, `layers` layers of `heads` heads.
    pub fn tiny(vocab_size: usize, hidden: usize, layers: usize, heads: usize) -> Self {
        Self {
            encoder: Config {
                vocab_size,
                hidden_size: hidden,
                num_hidden_layers: layers,
                num_attention_heads: heads,
                intermediate_size: 4 * hidden,
                hidden_act: HiddenAct::Gelu,
                hidden_dropout_prob: 0.0,
                max_position_embeddings: 64,
                type_vocab_size: 2,
                initializer_range: 0.02,
                layer_norm_eps: 1e-12,
                pad_token_id: 0,
                position_embedding_type: PositionEmbeddingType::Absolute,
                use_cache: false,
                classifier_dropout: None,
                model_type: Some("bert".into()),
            },
            pooling: TokenPooling::Mean,
            head_dim: None,
            seed: 0,
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<()> {
        let e = &self.encoder;
        let positive = [
            ("vocab_size", e.vocab_size),
            ("hidden_size", e.hidden_size),
            ("num_hidden_layers", e.num_hidden_layers),
            ("num_attention_heads", e.num_attention_heads),
            ("intermediate_size", e.intermediate_size),
            ("max_position_embeddings", e.max_position_embeddings),
            ("type_vocab_size", e.type_vocab_size),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ModelError::InvalidConfig(format!(
                "BERT {name} must be positive"
            )));
        }
        if e.hidden_size % e.num_attention_heads != 0 {
            return Err(ModelError::InvalidConfig(format!(
                "BERT hidden_size {} is not a multiple of num_attention_heads {}",
                e.hidden_size, e.num_attention_heads
            )));
        }
        if self.head_dim == Some(0) {
            return Err(ModelError::InvalidConfig(
                "BERT head dimension must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The activation of the feed-forward blocks.
    pub fn activation(&self) -> Activation {
        match self.encoder.hidden_act {
            HiddenAct::Gelu => Activation::Gelu,
            HiddenAct::GeluApproximate => Activation::GeluTanh,
            HiddenAct::Relu => Activation::Relu,
        }
    }
}
