//! The typed error of the `xbn-train` library.

use std::path::PathBuf;

/// Everything that can stop a training, evaluation or export: each variant names the file,
/// key or iteration at fault.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// An invalid configuration (unknown key, impossible value), found before any work starts.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A checkpoint's tensors or metadata do not match the checksum recorded when it was
    /// written: the file was damaged (truncated, overwritten, bit rot).
    #[error(
        "checkpoint {path} is damaged: the checksum of its contents is {found}, the one recorded when it was written is {expected}{}",
        previous.as_ref().map(|p| format!("; {}", crate::checkpoint::previous_hint(p))).unwrap_or_default()
    )]
    CheckpointDamaged {
        /// The checkpoint file.
        path: PathBuf,
        /// The checksum in the metadata.
        expected: String,
        /// The checksum of the tensors and metadata read.
        found: String,
        /// The run's previous checkpoint, when it is intact (offered instead).
        previous: Option<PathBuf>,
    },
    /// The configuration differs from the checkpoint's in keys that change the shape of what
    /// it holds (see `checkpoint::shape_keys`); resuming is refused.
    #[error(
        "cannot resume from {path}: the configuration changes what the checkpoint holds ({}); resume with the run's own settings or start a new run",
        differences.join("; ")
    )]
    ConfigMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// One `key: checkpoint A, configuration B` per differing key.
        differences: Vec<String>,
    },
    /// Another process holds the run folder's lock (see `run_lock`).
    #[error("{} is in use by another xbn-train ({}); wait for it to finish or stop it", dir.display(), match pid {
        Some(pid) => format!("PID {pid}"),
        None => "PID unknown".to_string(),
    })]
    RunLocked {
        /// The run folder.
        dir: PathBuf,
        /// The PID written in the lock by its holder, when readable.
        pid: Option<u32>,
    },
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
    /// A device string could not be parsed, or names a device this build cannot open.
    #[error("device `{spec}`: {reason}")]
    Device {
        /// The device string as given.
        spec: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A checkpoint's model tensor is missing or has another shape than the model's; the model
    /// is left unchanged.
    #[error("checkpoint tensor `{tensor}`: {}", match saved {
        Some(saved) => format!("has shape {saved:?}, the model {model:?}"),
        None => format!("missing (the model has it, shape {model:?})"),
    })]
    ModelState {
        /// The tensor's name in the model.
        tensor: String,
        /// Its shape in the model.
        model: Vec<usize>,
        /// Its shape in the checkpoint, `None` when the checkpoint lacks it.
        saved: Option<Vec<usize>>,
    },
    /// The memory of a checkpoint written before `CrossBatchMemory` owned it cannot be
    /// converted (see `train::legacy_checkpoint`).
    #[error("memory of a checkpoint of an earlier version: {0}")]
    LegacyMemory(String),
    /// The loader and the trainer disagree on the iteration: a batch came out of order or
    /// the sampler ended.
    #[error("the loader delivered {} at iteration {iteration}", match delivered {
        Some(batch) => format!("batch {batch}"),
        None => "no batch (the P × K sampler ended)".to_string(),
    })]
    LoaderOutOfStep {
        /// The trainer's iteration.
        iteration: usize,
        /// The batch number delivered, `None` when none came.
        delivered: Option<usize>,
    },
    /// The memory and the trainer disagree on the iteration.
    #[error("the memory is at iteration {memory}, the trainer at {trainer}")]
    MemoryOutOfStep {
        /// The memory's iteration counter.
        memory: u64,
        /// The trainer's iteration.
        trainer: usize,
    },
    /// Rows of embeddings and the values that go with them (labels to export, ages of drift
    /// entries) differ in number.
    #[error("{embeddings} embeddings but {count} {what}")]
    RowCount {
        /// Rows of the embedding matrix.
        embeddings: usize,
        /// What goes with each row (`labels`, `ages`).
        what: &'static str,
        /// How many were given.
        count: usize,
    },
    /// A JSON document or JSON Lines record could not be written or parsed.
    #[error("{what}: {source}")]
    Json {
        /// The file and line, or the document, at fault.
        what: String,
        /// serde_json's error.
        source: serde_json::Error,
    },
    /// A plot could not be drawn or written.
    #[error("plot {path}: {source}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// plotters' error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The report page, or a gallery, could not be built (its template, or what it shows).
    #[error("{0}")]
    Report(String),
    /// A dataset could not be read, decoded or sampled.
    #[error(transparent)]
    Data(#[from] xbn_data::DataError),
    /// Moment matching failed.
    #[error(transparent)]
    Core(#[from] xbn_core::XbnError),
    /// The cross-batch memory refused an update, a position or a saved state.
    #[error(transparent)]
    Memory(#[from] xbn_memory::MemoryError),
    /// A loss could not be built or evaluated.
    #[error(transparent)]
    Loss(#[from] xbn_losses::LossError),
    /// The backbone could not be built, loaded or run.
    #[error(transparent)]
    Model(#[from] xbn_nn::model::ModelError),
    /// The optimizer or its schedule refused a setting or a saved state.
    #[error(transparent)]
    Optimizer(#[from] xbn_nn::optim::OptimError),
    /// Retrieval evaluation failed.
    #[error(transparent)]
    Eval(#[from] xbn_eval::EvalError),
    /// A run folder holds no checkpoint to embed with (`index`, `search`).
    #[error(
        "{run}: no checkpoint ({file} not found); train the run first, or pass --checkpoint FILE"
    )]
    NoCheckpoint {
        /// The run folder.
        run: PathBuf,
        /// The checkpoint file looked for.
        file: PathBuf,
    },
    /// A catalogue of embeddings (`index`, `search`) is malformed, or was built by another
    /// model than the one searching it.
    #[error("catalogue {path}: {message}")]
    Catalogue {
        /// The catalogue file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The inputs to embed (a folder of images, query images, texts) are unusable: none
    /// found, none readable, or a bad count.
    #[error("{what}: {message}")]
    Inputs {
        /// The folder, file or option at fault.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl TrainError {
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::TrainError;

    #[test]
    fn a_library_error_keeps_its_message_and_its_source_chain() {
        let cause = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let data = xbn_data::DataError::Io {
            path: "datasets/sop/Ebay_train.txt".into(),
            source: cause,
        };
        let message = data.to_string();
        let err = TrainError::from(data);
        assert_eq!(err.to_string(), message);
        assert!(matches!(err, TrainError::Data(_)));
        let root = err
            .source()
            .expect("the I/O error is reachable through source()");
        let io = root
            .downcast_ref::<std::io::Error>()
            .expect("the cause is the original std::io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn the_trainer_s_own_errors_name_what_is_at_fault() {
        let missing = TrainError::ModelState {
            tensor: "head.weight".into(),
            model: vec![64, 512],
            saved: None,
        };
        assert!(missing.to_string().contains("head.weight"), "{missing}");
        assert!(missing.to_string().contains("missing"), "{missing}");
        let wrong = TrainError::ModelState {
            tensor: "head.weight".into(),
            model: vec![64, 512],
            saved: Some(vec![128, 512]),
        };
        assert!(wrong.to_string().contains("[128, 512]"), "{wrong}");
        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let err = TrainError::Json {
            what: "runs/x/metrics.jsonl:3".into(),
            source: json,
        };
        assert!(
            err.to_string().starts_with("runs/x/metrics.jsonl:3: "),
            "{err}"
        );
        assert!(err.source().is_some());
    }
}
