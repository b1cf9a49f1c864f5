//! The typed error of `xbn-losses`.

use candle_core::DType;

/// Everything that can go wrong when computing a loss. Bad input is reported with the
/// argument, shape or value at fault; no state (memory, matcher, proxies) is changed.
#[derive(Debug, thiserror::Error)]
pub enum LossError {
    /// A tensor has the wrong rank (embeddings must be `(n × d)`, labels `(n,)`).
    #[error("{what}: expected a rank-{expected} tensor, got shape {shape:?}")]
    WrongRank {
        /// The argument at fault.
        what: &'static str,
        /// The rank required.
        expected: usize,
        /// The shape given.
        shape: Vec<usize>,
    },
    /// A label vector and its embeddings disagree on the number of rows.
    #[error("{what}: {labels} label(s) for {rows} embedding row(s)")]
    LengthMismatch {
        /// The argument at fault.
        what: &'static str,
        /// Number of labels.
        labels: usize,
        /// Number of embedding rows.
        rows: usize,
    },
    /// Anchors and references disagree on the embedding dimension `d`.
    #[error("embedding dimension mismatch: anchors are {anchors:?} but references are {refs:?}")]
    DimMismatch {
        /// Shape of the anchors.
        anchors: Vec<usize>,
        /// Shape of the references.
        refs: Vec<usize>,
    },
    /// An embedding tensor holds NaN or ±Inf.
    #[error("{what} contains {count} non-finite value(s); first at row {row}, column {col}")]
    NonFinite {
        /// The argument at fault.
        what: &'static str,
        /// Number of non-finite values.
        count: usize,
        /// Row of the first offending value.
        row: usize,
        /// Column of the first offending value.
        col: usize,
    },
    /// The reference set (or the anchor set) has no rows.
    #[error("{what} is empty (shape {shape:?}); a ranking loss needs at least one row")]
    Empty {
        /// The argument at fault.
        what: &'static str,
        /// The shape given.
        shape: Vec<usize>,
    },
    /// Embeddings must be f32 or f64; labels must be an integer dtype.
    #[error("{what}: unsupported dtype {dtype:?} (expected {expected})")]
    DType {
        /// The argument at fault.
        what: &'static str,
        /// The dtype given.
        dtype: DType,
        /// The dtypes accepted.
        expected: &'static str,
    },
    /// `RefSet::SameAsAnchors` was given references that are not shaped like the anchors.
    #[error(
        "RefSet::SameAsAnchors needs the anchors passed again as references: anchors {anchors:?}, references {refs:?}"
    )]
    NotSameAsAnchors {
        /// Shape of the anchors.
        anchors: Vec<usize>,
        /// Shape of the references.
        refs: Vec<usize>,
    },
    /// The mask of excluded (anchor, reference) pairs is not `(b × m)`.
    #[error("exclusion mask: expected shape {expected:?}, got {got:?}")]
    MaskShape {
        /// `[b, m]`.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
    /// A class label is outside `[0, num_classes)` (proxy-anchor).
    #[error("label {label} at row {row} is outside [0, {num_classes})")]
    LabelOutOfRange {
        /// The label.
        label: i64,
        /// Row of the first offending value.
        row: usize,
        /// Number of classes (proxies).
        num_classes: usize,
    },
    /// The loss cannot use a separate reference set (proxy-anchor compares with its proxies).
    #[error("{loss} does not support a separate reference set (RefSet::Other)")]
    RefsNotSupported {
        /// The loss.
        loss: &'static str,
    },
    /// All-triplet enumeration would build a `b × m × m` tensor above the limit.
    #[error(
        "all-triplet mining over {anchors} anchors and {refs} references needs {anchors}·{refs}² = {needed} elements, above the limit {limit}; use batch-hard mining for memory-sized reference sets"
    )]
    TooManyTriplets {
        /// Number of anchors `b`.
        anchors: usize,
        /// Number of references `m`.
        refs: usize,
        /// `b·m²`.
        needed: usize,
        /// The limit, [`crate::MAX_TRIPLET_ELEMENTS`].
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
    Memory(#[from] xbn_memory::MemoryError),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`LossError`].
pub type Result<T> = std::result::Result<T, LossError>;
