//! The typed error of `xbn-eval`.

use std::path::PathBuf;

/// Everything that can go wrong while evaluating retrieval: every variant names the input
/// (`what`: a file path or a role such as `"query embeddings"`) and the shape or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a valid safetensors / `.npy` file, or lacks a tensor.
    #[error("{path}: {reason}")]
    Format {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A tensor has a dtype we do not accept here.
    #[error("{what}: unsupported dtype {dtype} (expected {expected})")]
    WrongDType {
        /// The input at fault (a file path or a role such as `"query embeddings"`).
        what: String,
        /// The dtype found.
        dtype: String,
        /// The dtypes accepted.
        expected: &'static str,
    },
    /// A tensor has the wrong rank.
    #[error("{what}: expected a rank-{expected} tensor, got shape {shape:?}")]
    WrongRank {
        /// The input at fault (a file path or a role such as `"query embeddings"`).
        what: String,
        /// The rank expected.
        expected: usize,
        /// The shape found.
        shape: Vec<usize>,
    },
    /// Embeddings and labels disagree on the number of items.
    #[error("{what}: {embeddings} embedding rows but {labels} labels")]
    LengthMismatch {
        /// The input at fault (a file path or a role such as `"query embeddings"`).
        what: String,
        /// Rows of embeddings.
        embeddings: usize,
        /// Number of labels.
        labels: usize,
    },
    /// Query and reference embeddings disagree on the dimension `d`.
    #[error("embedding dimension mismatch: queries are {query:?}, references are {reference:?}")]
    DimMismatch {
        /// Shape of the query embeddings.
        query: Vec<usize>,
        /// Shape of the reference embeddings.
        reference: Vec<usize>,
    },
    /// A set that must hold at least one item (or one dimension) holds none.
    #[error("{what} is empty (shape {shape:?})")]
    Empty {
        /// The input at fault (a file path or a role such as `"query embeddings"`).
        what: String,
        /// The shape found.
        shape: Vec<usize>,
    },
    /// An embedding holds NaN or ±Inf.
    #[error("{what} contains {count} non-finite value(s); first at row {row}, column {col}")]
    NonFinite {
        /// The input at fault (a file path or a role such as `"query embeddings"`).
        what: String,
        /// How many values are not finite.
        count: usize,
        /// Row of the first one at fault.
        row: usize,
        /// Column of the first one at fault.
        col: usize,
    },
    /// Cosine similarity is undefined for an all-zero embedding.
    #[error("{what}: row {row} has zero norm; cosine similarity is undefined")]
    ZeroNorm {
        /// The input at fault (a file path or a role such as `"query embeddings"`).
        what: String,
        /// Row of the first one at fault.
        row: usize,
    },
    /// A list of K holds 0, or is empty.
    #[error("invalid K list {ks:?}: every K must be ≥ 1 and the list non-empty")]
    InvalidK {
        /// The list given.
        ks: Vec<usize>,
    },
    /// The protocol and the inputs disagree (e.g. query-gallery without a gallery).
    #[error("protocol: {0}")]
    Protocol(String),
    /// The memory budget cannot hold even one query row of the working set.
    #[error("memory budget of {budget} bytes is too small: one query row needs {needed} bytes")]
    BudgetTooSmall {
        /// The budget, in bytes.
        budget: usize,
        /// Bytes one query row needs.
        needed: usize,
    },
    /// More references than 32-bit neighbour indices can address.
    #[error("{what}: {rows} rows exceed the supported maximum of {max}")]
    TooManyRows {
        /// The input at fault (a file path or a role such as `"query embeddings"`).
        what: String,
        /// Rows given.
        rows: usize,
        /// The most rows supported.
        max: usize,
    },
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`EvalError`].
pub type Result<T> = std::result::Result<T, EvalError>;
