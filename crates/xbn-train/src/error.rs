//! The typed error of the `xbn-train` library.

use std::path::PathBuf;

/// Everything that can stop a training, evaluation or export: each variant names the file,
/// key or iteration at fault.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// An invalid configuration (unknown key, impossible value), found before any work starts.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A checkpoint is missing a tensor, has a wrong shape, or could not be written.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The loss became NaN or infinite; the last good checkpoint was left intact.
    #[error(
        "non-finite loss ({value}) at iteration {iteration}; stopped. Last good checkpoint: {last_checkpoint}"
    )]
    NonFiniteLoss {
        /// The iteration whose loss was not finite.
        iteration: usize,
        /// The loss value.
        value: f64,
        /// Description of the last checkpoint kept (path and iteration, or "none").
        last_checkpoint: String,
    },
    /// A dataset could not be read, decoded or sampled.
    #[error("data: {0}")]
    Data(#[from] xbn_data::DataError),
    /// Moment matching or device selection failed.
    #[error("{0}")]
    Core(#[from] xbn_core::XbnError),
    /// A component (backbone, optimizer, loss, memory, evaluation) reported an error.
    #[error("{what}: {message}")]
    Component {
        /// Which component.
        what: &'static str,
        /// Its message.
        message: String,
    },
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl TrainError {
    /// Wraps another crate's error as a [`TrainError::Component`].
    pub fn component(what: &'static str, e: impl std::fmt::Display) -> Self {
        TrainError::Component {
            what,
            message: e.to_string(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;
