//! The typed error of `xbn-core`.

use candle_core::DType;

/// Everything that can go wrong in `xbn-core`: bad input is reported with the shapes or values
/// at fault, and the state of the caller's objects is left unchanged.
#[derive(Debug, thiserror::Error)]
pub enum XbnError {
    /// A tensor that must be `(n × d)` has another rank.
    #[error("{what}: expected a rank-2 (n × d) tensor, got shape {shape:?}")]
    WrongRank {
        what: &'static str,
        shape: Vec<usize>,
    },
    /// Memory and batch disagree on the embedding dimension `d`.
    #[error("embedding dimension mismatch: memory is {memory:?} but batch is {batch:?}")]
    DimMismatch {
        memory: Vec<usize>,
        batch: Vec<usize>,
    },
    /// A tensor that must have at least one row has none.
    #[error("{what} is empty (shape {shape:?})")]
    Empty {
        what: &'static str,
        shape: Vec<usize>,
    },
    /// A tensor holds NaN or ±Inf.
    #[error("{what} contains {count} non-finite value(s); first at row {row}, column {col}")]
    NonFinite {
        what: &'static str,
        count: usize,
        row: usize,
        col: usize,
    },
    /// The dtype is not one we accept.
    #[error("{what}: unsupported dtype {dtype:?} (expected f32, f64, f16 or bf16)")]
    UnsupportedDType { what: &'static str, dtype: DType },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A device string could not be parsed or the device is not compiled in.
    #[error("device `{spec}`: {reason}")]
    Device { spec: String, reason: String },
    /// Saved state (safetensors) is missing a tensor or has a wrong shape.
    #[error("saved state: {0}")]
    State(String),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`XbnError`].
pub type Result<T> = std::result::Result<T, XbnError>;
