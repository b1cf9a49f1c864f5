//! The typed error of the backbones and their weight loading.

use std::path::PathBuf;

/// Everything that can go wrong while building a backbone, running it or loading its weights.
/// Each variant names the tensor, file, shape or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The input batch does not have the shape the backbone expects.
    #[error("{what}: expected {expected}, got shape {shape:?}")]
    BadInput {
        /// Which input.
        what: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape received.
        shape: Vec<usize>,
    },
    /// A configuration value is out of range.
    #[error("invalid backbone configuration: {0}")]
    InvalidConfig(String),
    /// A weight file does not match the model: the report lists every missing, unexpected or
    /// mis-shaped tensor by name and shape.
    #[error("weights from {source_desc} do not match the model:\n{details}")]
    WeightMismatch {
        /// The weight file.
        source_desc: String,
        /// One line per tensor at fault.
        details: String,
    },
    /// A weight file could not be read or parsed.
    #[error("cannot read weights from {path}: {reason}")]
    WeightFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Offline (cache-only) mode and the file is not in the Hugging Face cache.
    #[error(
        "offline: `{file}` of Hugging Face repo `{repo}` (revision {revision}) is not in the cache \
         at {cache}; run once online (unset HF_HUB_OFFLINE) or pass a local safetensors file"
    )]
    NotCached {
        /// Hub repository (`org/name`).
        repo: String,
        /// File in the repository.
        file: String,
        /// Branch, tag or commit.
        revision: String,
        /// The cache folder searched.
        cache: PathBuf,
    },
    /// The Hugging Face Hub could not be reached or refused the request.
    #[error("downloading `{file}` of Hugging Face repo `{repo}`: {reason}")]
    Hub {
        /// Hub repository (`org/name`).
        repo: String,
        /// File in the repository.
        file: String,
        /// The client's error.
        reason: String,
    },
    /// A lock protecting the parameter map was poisoned by a panic in another thread.
    #[error("the parameter map's lock is poisoned")]
    Poisoned,
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// An error from `xbn-core` (the embedding head's normalization).
    #[error(transparent)]
    Core(#[from] xbn_core::XbnError),
}

/// `Result` with [`ModelError`].
pub type Result<T> = std::result::Result<T, ModelError>;
