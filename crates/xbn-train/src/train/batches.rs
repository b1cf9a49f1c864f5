//! Training and evaluation batches as network input, from xbn-data's image `Loader` or its
//! `TextLoader`.

use candle_core::Tensor;
use xbn_data::loader::Loader;
use xbn_data::text::TextLoader;
use xbn_nn::model::{Input, Tokens};

use crate::error::Result;

/// One batch, ready for the backbone.
#[derive(Debug)]
pub struct InputBatch {
    /// Position of the batch in the sampler's sequence.
    pub number: usize,
    /// Images or tokens.
    pub input: Input,
    /// Labels `(n,)` `u32`.
    pub labels: Tensor,
    /// Dataset indices of the `n` rows.
    pub indices: Vec<usize>,
    /// Each row's augmentation seed ([`xbn_memory::NO_AUGMENTATION`] for texts, which are not
    /// augmented).
    pub augmentation_seeds: Vec<u64>,
}

/// A stream of [`InputBatch`]es: images decoded and augmented by worker threads, or texts
/// tokenized on the calling thread.
#[derive(Debug)]
pub enum Batches {
    /// xbn-data's prefetching image loader.
    Images(Box<Loader>),
    /// xbn-data's text loader.
    Texts(TextLoader),
}

impl Iterator for Batches {
    type Item = Result<InputBatch>;

    fn next(&mut self) -> Option<Result<InputBatch>> {
        Some(match self {
            Batches::Images(loader) => loader.next()?.map_err(Into::into).map(|b| InputBatch {
                number: b.number,
                input: Input::Images(b.images),
                labels: b.labels,
                indices: b.indices,
                augmentation_seeds: b.augmentation_seeds,
            }),
            Batches::Texts(loader) => loader.next()?.map_err(Into::into).map(|b| InputBatch {
                number: b.number,
                augmentation_seeds: vec![xbn_memory::NO_AUGMENTATION; b.indices.len()],
                input: Input::Tokens(Tokens {
                    ids: b.ids,
                    mask: b.mask,
                }),
                labels: b.labels,
                indices: b.indices,
            }),
        })
    }
}
