//! The typed error of the backbones and their weight loading.

use std::path::PathBuf;

/// Everything that can go wrong while building a backbone, running it or loading its weights.
/// Each variant names the tensor, file, shape or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The input batch does not have the shape the backbone expects.
    #[error("{what}: expected {expected}, got shape {shape:?}")]
    BadInput {
        what: &'static str,
        expected: String,
        shape: Vec<usize>,
    },
    /// A configuration value is out of range.
    #[error("invalid backbone configuration: {0}")]
    InvalidConfig(String),
    /// A weight file does not match the model: the report lists every missing, unexpected or
    /// mis-shaped tensor by name and shape.
    #[error("weights from {source_desc} do not match the model:\n{details}")]
    WeightMismatch { source_desc: String, details: String },
    /// A weight file could not be read or parsed.
    #[error("cannot read weights from {path}: {reason}")]
    WeightFile { path: PathBuf, reason: String },
    /// Offline (cache-only) mode and the file is not in the Hugging Face cache.
    #[error(
        "offline: `{file}` of Hugging Face repo `{repo}` (revision {revision}) is not in the cache \
         at {cache}; run once online (unset HF_HUB_OFFLINE) or pass a local safetensors file"
    )]
    NotCached {
        repo: String,
        file: String,
        revision: String,
        cache: PathBuf,
    },
    /// The Hugging Face Hub could not be reached or refused the request.
    #[error("downloading `{file}` of Hugging Face repo `{repo}`: {reason}")]
    Hub {
        repo: String,
        file: String,
        reason: String,
    },
    /// A lock protecting the parameter map was poisoned by a panic in another thread.
    #[error("the parameter map's lock is poisoned")]
    Poisoned,
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`ModelError`].
pub type Result<T> = std::result::Result<T, ModelError>;
