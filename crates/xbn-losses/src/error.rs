//! The typed error of `xbn-losses`.

use candle_core::DType;

/// Everything that can go wrong when computing a loss. Bad input is reported with the
/// argument, shape or value at fault; no state (memory, matcher, proxies) is changed.
#[derive(Debug, thiserror::Error)]
pub enum LossError {
    /// A tensor has the wrong rank (embeddings must be `(n × d)`, labels `(n,)`).
    #[error("{what}: expected a rank-{expected} tensor, got shape {shape:?}")]
    WrongRank {
        what: &'static str,
        expected: usize,
        shape: Vec<usize>,
    },
    /// A label vector and its embeddings disagree on the number of rows.
    #[error("{what}: {labels} label(s) for {rows} embedding row(s)")]
    LengthMismatch {
        what: &'static str,
        labels: usize,
        rows: usize,
    },
    /// Anchors and references disagree on the embedding dimension `d`.
    #[error("embedding dimension mismatch: anchors are {anchors:?} but references are {refs:?}")]
    DimMismatch { anchors: Vec<usize>, refs: Vec<usize> },
    /// An embedding tensor holds NaN or ±Inf.
    #[error("{what} contains {count} non-finite value(s); first at row {row}, column {col}")]
    NonFinite {
        what: &'static str,
        count: usize,
        row: usize,
        col: usize,
    },
    /// The reference set (or the anchor set) has no rows.
    #[error("{what} is empty (shape {shape:?}); a ranking loss needs at least one row")]
    Empty {
        what: &'static str,
        shape: Vec<usize>,
    },
    /// Embeddings must be f32 or f64; labels must be an integer dtype.
    #[error("{what}: unsupported dtype {dtype:?} (expected {expected})")]
    DType {
        what: &'static str,
        dtype: DType,
        expected: &'static str,
    },
    /// `RefSet::SameAsAnchors` was given references that are not shaped like the anchors.
    #[error(
        "RefSet::SameAsAnchors needs the anchors passed again as references: anchors {anchors:?}, references {refs:?}"
    )]
    NotSameAsAnchors { anchors: Vec<usize>, refs: Vec<usize> },
    /// The mask of excluded (anchor, reference) pairs is not `(b × m)`.
    #[error("exclusion mask: expected shape {expected:?}, got {got:?}")]
    MaskShape { expected: Vec<usize>, got: Vec<usize> },
    /// A class label is outside `[0, num_classes)` (proxy-anchor).
    #[error("label {label} at row {row} is outside [0, {num_classes})")]
    LabelOutOfRange {
        label: i64,
        row: usize,
        num_classes: usize,
    },
    /// The loss cannot use a separate reference set (proxy-anchor compares with its proxies).
    #[error("{loss} does not support a separate reference set (RefSet::Other)")]
    RefsNotSupported { loss: &'static str },
    /// All-triplet enumeration would build a `b × m × m` tensor above the limit.
    #[error(
        "all-triplet mining over {anchors} anchors and {refs} references needs {anchors}·{refs}² = {needed} elements, above the limit {limit}; use batch-hard mining for memory-sized reference sets"
    )]
    TooManyTriplets {
        anchors: usize,
        refs: usize,
        needed: usize,
        limit: usize,
    },
    /// A configuration value is out of range or combined with an unsupported distance.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// An error from the memory or the moment matcher (`xbn-core`).
    #[error(transparent)]
    Core(#[from] xbn_core::XbnError),
    /// An error from the embedding queue (`xbn-memory`).
    #[error("memory: {0}")]
    Memory(String),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`LossError`].
pub type Result<T> = std::result::Result<T, LossError>;
