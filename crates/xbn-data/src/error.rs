//! The typed error of `xbn-data`.

use std::path::PathBuf;

/// Errors of dataset reading, decoding, sampling and loading. Each names the file (and line,
/// where there is one) at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of an annotation file does not parse.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file at fault.
        path: PathBuf,
        /// Line number (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An annotation file parses but says something impossible (a JSON field of the wrong type,
    /// an empty bounding box, a class in both halves of a class-disjoint split).
    #[error("{path}: {message}")]
    Annotation {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An image could not be decoded.
    #[error("{path}: cannot decode image: {message}")]
    Decode {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An image file listed by an annotation file (or found in a folder) does not exist.
    #[error(
        "{image}: image file missing (listed in {listed_in}); {total} of the dataset's image \
         files are missing"
    )]
    MissingImage {
        /// The missing image file.
        image: PathBuf,
        /// Where it was listed, as `file:line` (or the annotation file alone).
        listed_in: String,
        /// How many image files of the dataset are missing in all.
        total: usize,
    },
    /// A dataset file or folder is in none of the places the dataset's known layouts put it.
    #[error(
        "{what} not found under {root}; looked for {}",
        crate::readers::join_paths(looked)
    )]
    NotFound {
        /// The dataset root given by the user.
        root: PathBuf,
        /// What was searched for (e.g. `the In-Shop partition list`).
        what: String,
        /// Every path tried, in the order tried.
        looked: Vec<PathBuf>,
    },
    /// The dataset does not have the layout or counts it should.
    #[error("{0}")]
    Layout(String),
    /// A configuration value is impossible (e.g. P × K larger than the dataset allows).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An item was used as the wrong kind of sample: a text sample where an image is needed, or
    /// an image where a text is needed.
    #[error("{origin} is {found}, not {expected}")]
    Modality {
        /// Where the item comes from (its [`ItemSource::describe`](crate::ItemSource::describe)).
        origin: String,
        /// What it is (`a text sample`, `an image`).
        found: &'static str,
        /// What was needed (`an image`, `a text sample`).
        expected: &'static str,
    },
    /// A tokenizer file could not be loaded or configured, or a text could not be tokenized.
    #[error("{path}: tokenizer: {message}")]
    Tokenizer {
        /// The tokenizer file (`tokenizer.json`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An error from candle while building batch tensors.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;
