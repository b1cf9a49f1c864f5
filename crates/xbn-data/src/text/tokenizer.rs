//! A Hugging Face `tokenizer.json` configured as sentence-transformers calls it:
//! `tokenizer(texts, padding=True, truncation="longest_first", max_length=max_length)`.

use std::path::{Path, PathBuf};

use tokenizers::{
    PaddingDirection, PaddingParams, PaddingStrategy, PostProcessor, Tokenizer,
    TruncationDirection, TruncationParams, TruncationStrategy,
};

use super::TokenBatch;
use crate::{DataError, Result};

/// Smallest `max_length` [`TextTokenizer::from_file`] accepts (room for a `[CLS]` and a `[SEP]`).
pub const MIN_MAX_LENGTH: usize = 2;

/// The pad token looked up when the tokenizer file has no padding configuration.
const DEFAULT_PAD_TOKEN: &str = "[PAD]";

/// A tokenizer that turns a batch of texts into ids and attention masks exactly as
/// sentence-transformers' `tokenizer(texts, padding=True, truncation="longest_first",
/// max_length=max_length)` does: special tokens added, each text truncated (on the right) to
/// `max_length` tokens special tokens included, then every row padded on the right to the
/// batch's longest row (not to `max_length`).
///
/// The pad id is the one of the file's padding configuration, else the id of `[PAD]`; the
/// truncation and padding configuration the file carries is replaced by the above. It is
/// `Send + Sync`: one tokenizer serves several threads.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    tokenizer: Tokenizer,
    path: PathBuf,
    max_length: usize,
    pad_id: u32,
}

impl TextTokenizer {
    /// Loads the tokenizer file `path` (a Hugging Face `tokenizer.json`) for texts of at most
    /// `max_length` tokens, special tokens included.
    ///
    /// Fails, naming the file, if it cannot be read or parsed, if it has neither a padding
    /// configuration nor a `[PAD]` token, or if `max_length` is below [`MIN_MAX_LENGTH`] or
    /// below the number of special tokens the tokenizer adds to a text.
    pub fn from_file(path: &Path, max_length: usize) -> Result<TextTokenizer> {
        let fail = |message: String| DataError::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        if max_length < MIN_MAX_LENGTH {
            return Err(DataError::Config(format!(
                "max_length must be at least {MIN_MAX_LENGTH} tokens (special tokens included), \
                 found {max_length} (tokenizer {})",
                path.display()
            )));
        }
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tokenizer = Tokenizer::from_bytes(&bytes)
            .map_err(|e| fail(format!("not a Hugging Face tokenizer.json: {e}")))?;
        let special = tokenizer
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        if max_length < special {
            return Err(DataError::Config(format!(
                "max_length {max_length} is below the {special} special tokens the tokenizer {} \
                 adds to every text",
                path.display()
            )));
        }
        let (pad_id, pad_type_id, pad_token) = match tokenizer.get_padding() {
            Some(p) => (p.pad_id, p.pad_type_id, p.pad_token.clone()),
            None => match tokenizer.token_to_id(DEFAULT_PAD_TOKEN) {
                Some(id) => (id, 0, DEFAULT_PAD_TOKEN.to_string()),
                None => {
                    return Err(fail(format!(
                        "no padding configuration and no {DEFAULT_PAD_TOKEN} token: cannot pad a \
                         batch"
                    )));
                }
            },
        };
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            direction: PaddingDirection::Right,
            pad_to_multiple_of: None,
            pad_id,
            pad_type_id,
            pad_token,
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| fail(format!("cannot truncate to {max_length} tokens: {e}")))?;
        Ok(TextTokenizer {
            tokenizer,
            path: path.to_path_buf(),
            max_length,
            pad_id,
        })
    }

    /// The tokenizer file this was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Most tokens of a row, special tokens included.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The id padding positions hold.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Tokenizes `texts` into one row each, padded to the longest row. An empty text still gets
    /// the special tokens; no texts give an empty `0 × 0` batch.
    pub fn encode(&self, texts: &[&str]) -> Result<TokenBatch> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| DataError::Tokenizer {
                path: self.path.clone(),
                message: format!("cannot tokenize a batch of {} texts: {e}", texts.len()),
            })?;
        let len = encodings.first().map_or(0, |e| e.len());
        let mut batch = TokenBatch {
            ids: Vec::with_capacity(texts.len() * len),
            mask: Vec::with_capacity(texts.len() * len),
            rows: texts.len(),
            len,
        };
        for (row, encoding) in encodings.iter().enumerate() {
            if encoding.len() != len {
                return Err(DataError::Tokenizer {
                    path: self.path.clone(),
                    message: format!(
                        "row {row} has {} tokens after padding, row 0 has {len}",
                        encoding.len()
                    ),
                });
            }
            batch.ids.extend_from_slice(encoding.get_ids());
            batch.mask.extend_from_slice(encoding.get_attention_mask());
        }
        Ok(batch)
    }
}
