//! # xbn-memory
//!
//! The cross-batch memory of XBM (Wang et al., CVPR 2020): a fixed-capacity FIFO queue of
//! embeddings, integer labels and the iteration each entry was enqueued, kept on a candle
//! device, with the same slot layout as pytorch-metric-learning's `CrossBatchMemory`.
//! See [`EmbeddingQueue`]; [`CrossBatchMemory`] adds the moment matcher, the iteration counter,
//! `t_start`, the fill policy and per-entry provenance, and owns the memory's whole state.

pub mod cross_batch;
pub mod error;
mod io;
pub mod provenance;
pub mod queue;
mod ring;

pub use cross_batch::{CrossBatchMemory, FillPolicy, MemoryEntries, MemorySettings};
pub use error::{MemoryError, Result};
pub use provenance::{BatchProvenance, NO_AUGMENTATION};
pub use queue::EmbeddingQueue;
