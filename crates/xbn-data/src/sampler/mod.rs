//! Batch samplers: class-balanced `P × K` batches for training ([`PkSampler`]) and in-order
//! batches for evaluation ([`SequentialSampler`]). Both yield `Vec<usize>` batches of indices
//! into [`DatasetIndex::items`](crate::DatasetIndex::items), which the loader consumes as any
//! `Iterator<Item = Vec<usize>> + Send`.

mod pk;
mod sequential;

pub use pk::{PkConfig, PkSampler, SmallClassPolicy};
pub use sequential::SequentialSampler;
