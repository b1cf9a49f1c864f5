//! A synchronous loader of token batches: batches of dataset indices (from a sampler) turned
//! into padded ids, masks and labels on a device, in the sampler's order.

use std::fmt;
use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::{TextTokenizer, text_of};
use crate::{DatasetIndex, Result};

/// One batch of tokenized texts.
#[derive(Debug)]
pub struct TextBatch {
    /// Position of the batch in the sampler's sequence (`first_batch`, `first_batch + 1`, …).
    pub number: usize,
    /// Token ids, `(n, len)` `u32`, on the loader's device; `len` is the batch's longest row.
    pub ids: Tensor,
    /// Attention mask, `(n, len)` `u32`: 1 for real tokens, 0 for padding.
    pub mask: Tensor,
    /// Labels, `(n,)` `u32`.
    pub labels: Tensor,
    /// Dataset indices of the `n` texts.
    pub indices: Vec<usize>,
}

/// Tokenizes the texts of each batch of dataset indices on the calling thread (tokenizing is
/// cheap next to a transformer's forward pass). After an error it yields nothing more.
///
/// ```
/// # fn main() -> xbn_data::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/text/tokenizer.json");
/// use std::sync::Arc;
/// use xbn_data::text::{TextLoader, TextTokenizer};
/// use xbn_data::{DatasetKind, LoadOptions, load_dataset};
///
/// let file = dir.path().join("data.jsonl");
/// std::fs::write(&file, concat!(
///     r#"{"text": "a red shoe", "label": "shoe"}"#, "\n",
///     r#"{"text": "a blue hat", "label": "hat"}"#, "\n",
///     r#"{"text": "a green shirt", "label": "shirt"}"#, "\n",
///     r#"{"text": "a small bag", "label": "bag"}"#, "\n",
/// )).unwrap();
/// let index = Arc::new(load_dataset(DatasetKind::Jsonl, &file, &LoadOptions::default())?);
/// let tokenizer = Arc::new(TextTokenizer::from_file(std::path::Path::new(fixture), 32)?);
/// let loader = TextLoader::new(index, vec![vec![0, 1], vec![3]].into_iter(), tokenizer, 7,
///                              candle_core::Device::Cpu);
/// let numbers: Vec<usize> = loader.map(|b| b.map(|b| b.number)).collect::<Result<_, _>>()?;
/// assert_eq!(numbers, vec![7, 8]);
/// # Ok(()) }
/// ```
pub struct TextLoader {
    index: Arc<DatasetIndex>,
    batches: Box<dyn Iterator<Item = Vec<usize>> + Send>,
    tokenizer: Arc<TextTokenizer>,
    next_number: usize,
    device: Device,
    done: bool,
}

impl fmt::Debug for TextLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextLoader")
            .field("dataset", &self.index.name)
            .field("tokenizer", &self.tokenizer.path())
            .field("next_number", &self.next_number)
            .field("device", &self.device)
            .field("done", &self.done)
            .finish()
    }
}

impl TextLoader {
    /// A loader of `batches` (lists of indices into `index.items`, which must be text items),
    /// tokenized by `tokenizer` and numbered from `first_batch`, with tensors on `device`.
    pub fn new<I>(
        index: Arc<DatasetIndex>,
        batches: I,
        tokenizer: Arc<TextTokenizer>,
        first_batch: usize,
        device: Device,
    ) -> TextLoader
    where
        I: Iterator<Item = Vec<usize>> + Send + 'static,
    {
        TextLoader {
            index,
            batches: Box::new(batches),
            tokenizer,
            next_number: first_batch,
            device,
            done: false,
        }
    }

    /// Builds batch `number` from dataset `indices`.
    fn build(&self, number: usize, indices: Vec<usize>) -> Result<TextBatch> {
        let mut texts = Vec::with_capacity(indices.len());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in &indices {
            let item = self.index.batch_item(number, i)?;
            texts.push(text_of(item)?);
            labels.push(item.label);
        }
        let (ids, mask) = self.tokenizer.encode(&texts)?.to_tensors(&self.device)?;
        let labels = Tensor::from_vec(labels, indices.len(), &self.device)?;
        Ok(TextBatch {
            number,
            ids,
            mask,
            labels,
            indices,
        })
    }
}

impl Iterator for TextLoader {
    type Item = Result<TextBatch>;

    /// The next batch in sampler order; after an error, `None`.
    fn next(&mut self) -> Option<Result<TextBatch>> {
        if self.done {
            return None;
        }
        let Some(indices) = self.batches.next() else {
            self.done = true;
            return None;
        };
        let number = self.next_number;
        self.next_number += 1;
        let out = self.build(number, indices);
        self.done = out.is_err();
        Some(out)
    }
}
