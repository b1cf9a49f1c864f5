//! The typed error of `xbn-data`.

use std::path::PathBuf;

/// Errors of dataset reading, decoding, sampling and loading. Each names the file (and line,
/// where there is one) at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A line of an annotation file does not parse.
    #[error("{path}:{line}: {message}")]
    Parse { path: PathBuf, line: usize, message: String },
    /// An image could not be decoded.
    #[error("{path}: cannot decode image: {message}")]
    Decode { path: PathBuf, message: String },
    /// The dataset does not have the layout or counts it should.
    #[error("{0}")]
    Layout(String),
    /// A configuration value is impossible (e.g. P × K larger than the dataset allows).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An error from candle while building batch tensors.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;
