//! BERT-family sentence encoders (BERT, MiniLM, …), trainable, on candle-transformers' BERT
//! [`Config`](candle_transformers::models::bert::Config) and the Hugging Face weight names.
//!
//! `z = normalize(head(pool(BERT(ids, mask))))`: the encoder's last hidden states are pooled over
//! the attention mask (mean, or the `[CLS]` token, as the checkpoint's sentence-transformers
//! pooling config says), optionally mapped by a linear head, and L2-normalized, which is
//! sentence-transformers' `Transformer → Pooling → Normalize` pipeline.
//!
//! Reused from candle-transformers: the configuration type and its `config.json` parsing, the
//! activation names. Ours: every module (candle-transformers' BERT runs candle-nn's fused
//! `LayerNorm`, which has no backward), built from [`super::transformer`].

mod config;
mod embeddings;
mod encoder;
mod layer;
mod layout;
mod pooling;

pub use config::BertConfig;
pub use encoder::BertEncoder;
pub use layout::SentenceLayout;
pub use pooling::TokenPooling;
