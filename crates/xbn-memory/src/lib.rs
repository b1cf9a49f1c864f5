//! # xbn-memory
//!
//! The cross-batch memory of XBM (Wang et al., CVPR 2020): a fixed-capacity FIFO queue of
//! embeddings, integer labels and the iteration each entry was enqueued, kept on a candle
//! device, with the same slot layout as pytorch-metric-learning's `CrossBatchMemory`.
//! See [`EmbeddingQueue`].
#![warn(missing_docs)]

pub mod error;
mod io;
pub mod queue;

pub use error::{MemoryError, Result};
pub use queue::EmbeddingQueue;
