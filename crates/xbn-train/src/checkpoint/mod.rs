//! Training checkpoints: one safetensors file holding the model, the optimizer state, the
//! memory queue, the AXBN filter state and the RNG state, with the iteration and seed in its
//! metadata, written atomically (see [`atomic`]).
//!
//! Tensor names are prefixed by their owner: `model.`, `optim.`, `memory.`, `norm.`, `rng.`.

pub mod atomic;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::error::{Result, TrainError};

/// File name of the last checkpoint inside a run folder.
pub const LAST: &str = "checkpoint.safetensors";
/// File name of the best model (by the configured metric) inside a run folder.
pub const BEST: &str = "best.safetensors";

/// Tensors and string metadata of one checkpoint.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// Named tensors (`model.*`, `optim.*`, `memory.*`, `norm.*`, `rng.*`).
    pub tensors: HashMap<String, Tensor>,
    /// String metadata (`iteration`, `seed`, …).
    pub metadata: HashMap<String, String>,
}

impl Checkpoint {
    /// Adds every tensor of `part` under `prefix.` + its name.
    pub fn insert_part(&mut self, prefix: &str, part: HashMap<String, Tensor>) {
        for (k, v) in part {
            self.tensors.insert(format!("{prefix}.{k}"), v);
        }
    }

    /// The tensors stored under `prefix.`, with the prefix removed.
    pub fn part(&self, prefix: &str) -> HashMap<String, Tensor> {
        let p = format!("{prefix}.");
        self.tensors
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&p).map(|s| (s.to_string(), v.clone())))
            .collect()
    }

    /// A metadata value parsed as `T`, with an error naming the key when absent or malformed.
    pub fn meta<T: std::str::FromStr>(&self, key: &str, path: &Path) -> Result<T> {
        let raw = self
            .metadata
            .get(key)
            .ok_or_else(|| TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!("metadata key `{key}` is missing"),
            })?;
        raw.parse().map_err(|_| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: format!("metadata `{key}` = `{raw}` does not parse"),
        })
    }

    /// Serializes and writes atomically: on any error the previous file at `path` is intact.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut names: Vec<&String> = self.tensors.keys().collect();
        names.sort();
        let data: Vec<(&str, &Tensor)> = names
            .into_iter()
            .map(|k| (k.as_str(), &self.tensors[k]))
            .collect();
        let cpu: Vec<(&str, Tensor)> = data
            .into_iter()
            .map(|(k, t)| Ok((k, t.to_device(&Device::Cpu)?.contiguous()?)))
            .collect::<Result<_>>()?;
        let bytes = safetensors::serialize(
            cpu.iter().map(|(k, t)| (*k, t)),
            Some(self.metadata.clone()),
        )
        .map_err(|e| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        atomic::write_atomic(path, &bytes)
    }

    /// Reads a checkpoint, placing its tensors on `device`.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
        let bad = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let (_, meta) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let tensors = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| bad(e.to_string()))?;
        Ok(Self { tensors, metadata })
    }
}
