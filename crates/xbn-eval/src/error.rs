//! The typed error of `xbn-eval`.

use std::path::PathBuf;

/// Everything that can go wrong while evaluating retrieval: every variant names the input
/// (`what`: a file path or a role such as `"query embeddings"`) and the shape or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not a valid safetensors / `.npy` file, or lacks a tensor.
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    /// A tensor has a dtype we do not accept here.
    #[error("{what}: unsupported dtype {dtype} (expected {expected})")]
    WrongDType {
        what: String,
        dtype: String,
        expected: &'static str,
    },
    /// A tensor has the wrong rank.
    #[error("{what}: expected a rank-{expected} tensor, got shape {shape:?}")]
    WrongRank {
        what: String,
        expected: usize,
        shape: Vec<usize>,
    },
    /// Embeddings and labels disagree on the number of items.
    #[error("{what}: {embeddings} embedding rows but {labels} labels")]
    LengthMismatch {
        what: String,
        embeddings: usize,
        labels: usize,
    },
    /// Query and reference embeddings disagree on the dimension `d`.
    #[error("embedding dimension mismatch: queries are {query:?}, references are {reference:?}")]
    DimMismatch {
        query: Vec<usize>,
        reference: Vec<usize>,
    },
    /// A set that must hold at least one item (or one dimension) holds none.
    #[error("{what} is empty (shape {shape:?})")]
    Empty { what: String, shape: Vec<usize> },
    /// An embedding holds NaN or ±Inf.
    #[error("{what} contains {count} non-finite value(s); first at row {row}, column {col}")]
    NonFinite {
        what: String,
        count: usize,
        row: usize,
        col: usize,
    },
    /// Cosine similarity is undefined for an all-zero embedding.
    #[error("{what}: row {row} has zero norm; cosine similarity is undefined")]
    ZeroNorm { what: String, row: usize },
    /// A list of K holds 0, or is empty.
    #[error("invalid K list {ks:?}: every K must be ≥ 1 and the list non-empty")]
    InvalidK { ks: Vec<usize> },
    /// The protocol and the inputs disagree (e.g. query-gallery without a gallery).
    #[error("protocol: {0}")]
    Protocol(String),
    /// The memory budget cannot hold even one query row of the working set.
    #[error("memory budget of {budget} bytes is too small: one query row needs {needed} bytes")]
    BudgetTooSmall { budget: usize, needed: usize },
    /// More references than 32-bit neighbour indices can address.
    #[error("{what}: {rows} rows exceed the supported maximum of {max}")]
    TooManyRows {
        what: String,
        rows: usize,
        max: usize,
    },
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`EvalError`].
pub type Result<T> = std::result::Result<T, EvalError>;
