//! The typed error of `xbn-core`.

use candle_core::DType;

/// Everything that can go wrong in `xbn-core`: bad input is reported with the shapes or values
/// at fault, and the state of the caller's objects is left unchanged.
#[derive(Debug, thiserror::Error)]
pub enum XbnError {
    /// A tensor that must be `(n × d)` has another rank.
    #[error("{what}: expected a rank-2 (n × d) tensor, got shape {shape:?}")]
    WrongRank {
        /// Which input (e.g. `"memory"`, `"batch"`).
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// Memory and batch disagree on the embedding dimension `d`.
    #[error("embedding dimension mismatch: memory is {memory:?} but batch is {batch:?}")]
    DimMismatch {
        /// Shape of the memory.
        memory: Vec<usize>,
        /// Shape of the batch.
        batch: Vec<usize>,
    },
    /// A tensor that must have at least one row has none.
    #[error("{what} is empty (shape {shape:?})")]
    Empty {
        /// Which input.
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A tensor holds NaN or ±Inf.
    #[error("{what} contains {count} non-finite value(s); first at row {row}, column {col}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// How many entries are NaN or ±Inf.
        count: usize,
        /// Row of the first one.
        row: usize,
        /// Column of the first one.
        col: usize,
    },
    /// All entries are finite but the per-dimension statistics overflowed the accumulation dtype.
    #[error(
        "moments of memory {memory:?} / batch {batch:?} overflow (values too large for the statistics dtype)"
    )]
    StatisticsOverflow {
        /// Shape of the memory.
        memory: Vec<usize>,
        /// Shape of the batch.
        batch: Vec<usize>,
    },
    /// The dtype is not one we accept.
    #[error("{what}: unsupported dtype {dtype:?} (expected f32, f64, f16 or bf16)")]
    UnsupportedDType {
        /// Which input.
        what: &'static str,
        /// Its dtype.
        dtype: DType,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Saved state (safetensors) is missing a tensor, has a wrong shape or value, or does not
    /// fit the input (e.g. a filter state for another `d`).
    #[error("saved state: {0}")]
    State(String),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`XbnError`].
pub type Result<T> = std::result::Result<T, XbnError>;
