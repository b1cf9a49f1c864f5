//! The training configuration: one TOML document with one table per concern.
//!
//! Every key is optional in a file (missing keys take the defaults of the default run, see
//! [`TrainConfig::default`]) and unknown keys are rejected with the key named. Any key can be
//! overridden on the command line with `--set section.key=value` (see [`overrides`]).

pub mod overrides;
pub mod sections;
pub mod validate;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use sections::{
    Backbone, DataConfig, EvalConfig, LossConfig, MemoryConfig, MemoryFill, ModelConfig,
    NormConfig, NormKind, ObservationNoiseKind, OptimConfig, OptimizerKind, PoolingKind, RunConfig,
    ScheduleKind, SmallClassPolicy, SyntheticSection,
};

use crate::error::{Result, TrainError};

/// The whole configuration of a training run (the file `runs/<name>/config.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Run name, output folder, seed, device, iteration counts and logging cadence.
    pub run: RunConfig,
    /// Dataset, P × K sampling and image sizes.
    pub data: DataConfig,
    /// Backbone, embedding head and pretrained weights.
    pub model: ModelConfig,
    /// The pair-based loss `ℓ`.
    pub loss: LossConfig,
    /// The cross-batch memory `M`: size, weight `w`, `t_start`, warm start.
    pub memory: MemoryConfig,
    /// Moment matching of the memory: none (XBM), XBN or adaptive XBN.
    pub norm: NormConfig,
    /// Optimizer, learning rates and schedule.
    pub optim: OptimConfig,
    /// Retrieval evaluation during and after training.
    pub eval: EvalConfig,
}

impl TrainConfig {
    /// Parses a TOML document; unknown keys are an error that names them.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| TrainError::Config(format!("{origin}: {e}")))
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// The resolved configuration as TOML, as written to `runs/<name>/config.toml`.
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| TrainError::Config(e.to_string()))
    }

    /// The batch size `b = P × K`.
    pub fn batch_size(&self) -> usize {
        self.data.classes_per_batch * self.data.images_per_class
    }
}
