//! The typed error of `xbn-memory`.

use candle_core::DType;

/// Everything that can go wrong with an [`crate::EmbeddingQueue`]. On any error the queue is
/// unchanged.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// `capacity` or `dim` is zero, or the dtype is not a float type.
    #[error("invalid queue configuration: {0}")]
    InvalidConfig(String),
    /// Embeddings are not `(b × dim)`.
    #[error("embeddings: expected shape (b × {dim}) with b ≥ 1, got {shape:?}")]
    EmbeddingShape {
        /// The queue's embedding dimension.
        dim: usize,
        /// The shape given.
        shape: Vec<usize>,
    },
    /// Labels are not a vector with one entry per embedding.
    #[error("labels: expected shape ({rows},) to match embeddings {embeddings:?}, got {shape:?}")]
    LabelShape {
        /// Number of embedding rows.
        rows: usize,
        /// Shape of the embeddings.
        embeddings: Vec<usize>,
        /// Shape of the labels.
        shape: Vec<usize>,
    },
    /// Labels are not integers of an accepted dtype.
    #[error("labels: unsupported dtype {0:?} (expected i64, u32 or u8)")]
    LabelDType(DType),
    /// The matcher returned a tensor of the wrong shape.
    #[error("moment matcher returned shape {got:?} for a memory of shape {expected:?}")]
    AdaptedShape {
        /// The memory's shape.
        expected: Vec<usize>,
        /// The returned shape.
        got: Vec<usize>,
    },
    /// Entries were asked for at a FIFO position beyond the stored ones.
    #[error("memory position {position} is beyond the {len} stored entries")]
    Position {
        /// The position asked for (0 = oldest).
        position: usize,
        /// Entries stored.
        len: usize,
    },
    /// Per-entry provenance is missing or malformed.
    #[error("memory provenance: {0}")]
    Provenance(String),
    /// A saved queue is missing a tensor or has an inconsistent shape or value.
    #[error("saved queue: {0}")]
    State(String),
    /// Bad input detected by `xbn-core` (non-finite values, dtype, rank, moment matcher errors).
    #[error(transparent)]
    Core(#[from] xbn_core::XbnError),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`MemoryError`].
pub type Result<T> = std::result::Result<T, MemoryError>;
