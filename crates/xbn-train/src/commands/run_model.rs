//! The trained model of a run folder, for `index` and `search`: its configuration (with
//! overrides), its last checkpoint (or another one) restored into the backbone, and the model's
//! identity ([`ModelIdentity`]) that a catalogue records.

use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_core::safetensors::Load;
use sha2::{Digest, Sha256};

use crate::checkpoint;
use crate::config::{TrainConfig, overrides};
use crate::error::{Result, TrainError};
use crate::train::network::{Model, build_model, load_model_state};

/// What identifies the model that computed a set of embeddings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    /// SHA-256 (hex) over the checkpoint's model tensors: for each tensor named `model.<name>`,
    /// in the order of the sorted names, `<name>` in UTF-8, one zero byte, then the tensor's raw
    /// bytes as stored (little-endian).
    pub sha256: String,
    /// The embedding dimension.
    pub embedding_dim: usize,
    /// The backbone's name (`small-cnn`, `resnet50`, …).
    pub backbone: String,
}

impl ModelIdentity {
    /// A short form for messages: `small-cnn, dim 16, model sha256 0123456789ab`.
    pub fn describe(&self) -> String {
        format!(
            "{}, dim {}, model sha256 {}",
            self.backbone,
            self.embedding_dim,
            &self.sha256[..self.sha256.len().min(12)]
        )
    }
}

/// A run's trained model, ready to embed.
pub struct RunModel {
    /// The run's configuration with the command's overrides.
    pub cfg: TrainConfig,
    /// The network, in evaluation mode through `Backbone::embed`.
    pub model: Model,
    /// The checkpoint file restored.
    pub checkpoint: PathBuf,
    /// The model's identity.
    pub identity: ModelIdentity,
    /// The device it runs on.
    pub device: Device,
}

impl RunModel {
    /// Opens `run` (its `config.toml` with `sets` and `device` applied) and restores the model
    /// of `checkpoint` (default: the run's last checkpoint). A run folder without a checkpoint
    /// is a [`TrainError::NoCheckpoint`].
    pub fn open(
        run: &Path,
        checkpoint: Option<&Path>,
        sets: &[String],
        device: Option<&str>,
    ) -> Result<Self> {
        let config = run.join("config.toml");
        if !config.is_file() {
            return Err(TrainError::Inputs {
                what: format!("--run {}", run.display()),
                message: format!("not a run folder ({} not found)", config.display()),
            });
        }
        let base = TrainConfig::from_file(&config)?;
        let mut sets = sets.to_vec();
        if let Some(d) = device {
            sets.push(format!("run.device={}", toml::Value::String(d.to_string())));
        }
        let cfg = overrides::apply(&base, &sets)?;
        let device = crate::device::parse_device(&cfg.run.device)?;
        let ck_path = match checkpoint {
            Some(p) => p.to_path_buf(),
            None => {
                let p = run.join(checkpoint::LAST);
                if !p.is_file() {
                    return Err(TrainError::NoCheckpoint {
                        run: run.to_path_buf(),
                        file: p,
                    });
                }
                p
            }
        };
        let model = build_model(&cfg, false, &device)?;
        let (state, sha256) = read_model_tensors(&ck_path, &device)?;
        load_model_state(model.backbone.as_ref(), &state)?;
        let identity = ModelIdentity {
            sha256,
            embedding_dim: model.backbone.embedding_dim(),
            backbone: model.backbone.name().to_string(),
        };
        Ok(Self {
            cfg,
            model,
            checkpoint: ck_path,
            identity,
            device,
        })
    }
}

/// The model tensors of a checkpoint (the `model.` prefix removed) on `device`, and their
/// SHA-256 ([`ModelIdentity::sha256`]); the checkpoint's own checksum is verified first.
pub fn read_model_tensors(
    path: &Path,
    device: &Device,
) -> Result<(
    std::collections::HashMap<String, candle_core::Tensor>,
    String,
)> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let bad = |message: String| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    // A damaged checkpoint is refused here as it is on resume (its checksum, when recorded).
    checkpoint::verify(&bytes, path)?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut names: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| n.starts_with("model."))
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Err(bad("no model tensors (`model.*`)".into()));
    }
    names.sort();
    let mut hasher = Sha256::new();
    let mut state = std::collections::HashMap::new();
    for full in &names {
        let view = st.tensor(full).map_err(|e| bad(format!("{full}: {e}")))?;
        let name = &full["model.".len()..];
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(view.data());
        state.insert(name.to_string(), view.load(device)?);
    }
    Ok((state, hex::encode(hasher.finalize())))
}
