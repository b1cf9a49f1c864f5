//! Token ids and attention masks of a batch of texts, padded to a common length.

use candle_core::{Device, Tensor};

use crate::Result;

/// The tokenized texts of a batch: `rows × len` ids and mask, row-major, each row padded on the
/// right to `len`, the length of the batch's longest tokenized text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBatch {
    /// Token ids, `rows × len`, row-major; padding positions hold the pad id.
    pub ids: Vec<u32>,
    /// Attention mask, `rows × len`: 1 for a real token (special tokens included), 0 for padding.
    pub mask: Vec<u32>,
    /// Number of texts.
    pub rows: usize,
    /// Tokens per row after padding.
    pub len: usize,
}

impl TokenBatch {
    /// The ids and the mask as `(rows, len)` `u32` tensors on `device`.
    pub fn to_tensors(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        let shape = (self.rows, self.len);
        let ids = Tensor::from_slice(&self.ids, shape, device)?;
        let mask = Tensor::from_slice(&self.mask, shape, device)?;
        Ok((ids, mask))
    }
}
