//! The configuration keys that change the shape of what a checkpoint holds (the network, the
//! memory, the normalization state, the loss's parameters, the optimizer's state). Their
//! values are recorded in the checkpoint's metadata as `config.<key>`; resuming with other
//! values is refused, naming each difference.

use std::collections::HashMap;

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};

/// The keys recorded and compared.
pub const KEYS: &[&str] = &[
    "model.backbone",
    "model.variant",
    "model.embedding_dim",
    "model.channels",
    "memory.size",
    "norm.kind",
    "loss.name",
    "optim.optimizer",
];

/// Prefix of the metadata keys.
const PREFIX: &str = "config.";

/// The value of each key of [`KEYS`] in `cfg`, as TOML text (`"small-cnn"`, `128`, `[8, 16]`).
pub fn values(cfg: &TrainConfig) -> Result<Vec<(&'static str, String)>> {
    let doc = toml::Value::try_from(cfg).map_err(|e| TrainError::Config(e.to_string()))?;
    Ok(KEYS
        .iter()
        .map(|&key| {
            let v = key
                .split('.')
                .try_fold(&doc, |v, part| v.get(part))
                .map_or_else(|| "(unset)".to_string(), |v| v.to_string());
            (key, v)
        })
        .collect())
}

/// Records the values of `cfg` in a checkpoint's metadata.
pub fn record(cfg: &TrainConfig, metadata: &mut HashMap<String, String>) -> Result<()> {
    for (key, value) in values(cfg)? {
        metadata.insert(format!("{PREFIX}{key}"), value);
    }
    Ok(())
}

/// Each key whose value in `cfg` differs from the one recorded in `metadata`, described as
/// `key: checkpoint A, configuration B`. Keys the metadata lacks (checkpoints written before
/// they were recorded) are not compared.
pub fn differences(cfg: &TrainConfig, metadata: &HashMap<String, String>) -> Result<Vec<String>> {
    Ok(values(cfg)?
        .into_iter()
        .filter_map(|(key, now)| {
            let saved = metadata.get(&format!("{PREFIX}{key}"))?;
            (saved != &now).then(|| format!("{key}: checkpoint {saved}, configuration {now}"))
        })
        .collect())
}

/// Whether `metadata` records any of the keys.
pub fn recorded(metadata: &HashMap<String, String>) -> bool {
    KEYS.iter()
        .any(|k| metadata.contains_key(&format!("{PREFIX}{k}")))
}
