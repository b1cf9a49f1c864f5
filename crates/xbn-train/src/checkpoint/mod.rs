//! Training checkpoints: one safetensors file holding the model, the optimizer state, the
//! memory queue, the AXBN filter state and the RNG state, with the iteration and seed in its
//! metadata, written atomically (see [`atomic`]). Each file carries a checksum of its tensors and metadata
//! ([`checksum`]) verified when it is read; the run's last checkpoint keeps its predecessor
//! ([`rotate`]), and records the configuration keys that change its shapes ([`shape_keys`]).
//!
//! Tensor names are prefixed by their owner: `model.`, `optim.`, `memory.`, `norm.`, `rng.`.

pub mod atomic;
pub mod checksum;
pub mod rotate;
pub mod shape_keys;

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

    /// The file's bytes: the tensors (moved to the CPU) and the metadata, with the tensors'
    /// checksum added under [`checksum::KEY`]. `path` names the file in errors.
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let mut names: Vec<&String> = self.tensors.keys().collect();
        names.sort();
        let cpu: Vec<(&str, Tensor)> = names
            .into_iter()
            .map(|k| {
                Ok((
                    k.as_str(),
                    self.tensors[k].to_device(&Device::Cpu)?.contiguous()?,
                ))
            })
            .collect::<Result<_>>()?;
        let mut metadata = self.metadata.clone();
        let sum = checksum::of_views(&cpu, &metadata);
        metadata.insert(checksum::KEY.into(), sum);
        safetensors::serialize(cpu.iter().map(|(k, t)| (*k, t)), Some(metadata)).map_err(|e| {
            TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })
    }

    /// Serializes (with the checksum) and writes atomically: on any error the previous file
    /// at `path` is intact.
    pub fn save(&self, path: &Path) -> Result<()> {
        atomic::write_atomic(path, &self.to_bytes(path)?)
    }

    /// Reads a checkpoint, verifies its checksum and places its tensors on `device`; the
    /// metadata returned is the one saved (without the checksum). A checkpoint written before
    /// checksums were recorded loads with a warning.
    ///
    /// When a run's last checkpoint fails to load and its previous one
    /// (`checkpoint.prev.safetensors`) is intact, the error offers it.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
        Self::from_bytes(&bytes, path, device).map_err(|e| offer_previous(e, path))
    }

    /// Parses and verifies a checkpoint's bytes (`path` names it in errors and warnings).
    pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Self> {
        let mut metadata = verify_plain(bytes, path)?;
        if metadata.remove(checksum::KEY).is_none() {
            tracing::warn!(
                "{}: no checksum (written by an earlier version); its contents are not verified",
                path.display()
            );
        }
        let tensors = candle_core::safetensors::load_buffer(bytes, device).map_err(|e| {
            TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        Ok(Self { tensors, metadata })
    }
}

/// How the message of a damaged last checkpoint offers the intact previous one `prev`.
pub fn previous_hint(prev: &Path) -> String {
    format!(
        "the previous checkpoint {} is intact: pass it with --checkpoint, or use --resume, which falls back to it",
        prev.display()
    )
}

/// Adds to a load error of a run's last checkpoint `path` the previous checkpoint next to it,
/// when that one verifies.
fn offer_previous(e: TrainError, path: &Path) -> TrainError {
    if path.file_name() != Some(std::ffi::OsStr::new(LAST)) {
        return e;
    }
    let prev = path.with_file_name(rotate::PREV);
    let intact = std::fs::read(&prev).is_ok_and(|b| verify_plain(&b, &prev).is_ok());
    if !intact {
        return e;
    }
    match e {
        TrainError::CheckpointDamaged {
            path,
            expected,
            found,
            ..
        } => TrainError::CheckpointDamaged {
            path,
            expected,
            found,
            previous: Some(prev),
        },
        TrainError::Checkpoint { path, message } => TrainError::Checkpoint {
            path,
            message: format!("{message}; {}", previous_hint(&prev)),
        },
        other => other,
    }
}

/// Parses the safetensors layout of `bytes` and checks the tensors against the checksum in
/// the metadata (when there is one); returns the metadata. When `path` is a run's last
/// checkpoint and fails, the error offers the intact previous one (see [`Checkpoint::load`]).
pub fn verify(bytes: &[u8], path: &Path) -> Result<HashMap<String, String>> {
    verify_plain(bytes, path).map_err(|e| offer_previous(e, path))
}

/// [`verify`] without the offer of the previous checkpoint.
fn verify_plain(bytes: &[u8], path: &Path) -> Result<HashMap<String, String>> {
    let bad = |message: String| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("not a readable checkpoint ({message})"),
    };
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    // Without the checksum entry a file passes for an earlier version's, unverified; but a
    // checksum value under another key means the entry's name was damaged.
    let renamed = metadata
        .iter()
        .find(|(k, v)| k.as_str() != checksum::KEY && checksum::looks_like_checksum(v));
    if let (false, Some((k, _))) = (metadata.contains_key(checksum::KEY), renamed) {
        return Err(TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: format!(
                "damaged: its checksum entry `{}` is missing, and a checksum value sits under \
                 `{k}`",
                checksum::KEY
            ),
        });
    }
    if let Some(expected) = metadata.get(checksum::KEY) {
        let found = checksum::of_file(&st, &metadata);
        if &found != expected {
            return Err(TrainError::CheckpointDamaged {
                path: path.to_path_buf(),
                expected: expected.clone(),
                found,
                previous: None,
            });
        }
    }
    Ok(metadata)
}
