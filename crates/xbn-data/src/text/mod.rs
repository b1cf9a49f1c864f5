//! The text pipeline: a Hugging Face `tokenizer.json` turned into padded id and mask batches the
//! way sentence-transformers asks for them ([`TextTokenizer`], [`TokenBatch`]), the text of an
//! item ([`text_of`]), and a loader of token batches from dataset indices ([`TextLoader`]).
//!
//! ```no_run
//! use std::path::Path;
//! use xbn_data::text::TextTokenizer;
//!
//! let tokenizer = TextTokenizer::from_file(Path::new("tokenizer.json"), 128)?;
//! let batch = tokenizer.encode(&["a red shoe", "a blue shoe with laces"])?;
//! let (ids, mask) = batch.to_tensors(&candle_core::Device::Cpu)?;
//! assert_eq!(ids.dims(), &[2, batch.len]);
//! # Ok::<(), xbn_data::DataError>(())
//! ```

mod batch;
mod item;
mod loader;
mod tokenizer;

pub use batch::TokenBatch;
pub use item::text_of;
pub use loader::{TextBatch, TextLoader};
pub use tokenizer::{MIN_MAX_LENGTH, TextTokenizer};
