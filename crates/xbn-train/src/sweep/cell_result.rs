//! `result.json`: what a finished cell of a sweep left, written atomically once its run ends.
//! Its presence (with the run's `config.toml` equal to the cell's) marks the cell finished.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::atomic::write_atomic;
use crate::error::{Result, TrainError};
use crate::outputs::metrics::read_records;

/// File name of a cell's result, in its run folder.
pub const RESULT_FILE: &str = "result.json";

/// The outcome of one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// The cell's folder name.
    pub cell: String,
    /// Its axis values (`key → TOML literal`).
    pub axes: BTreeMap<String, String>,
    /// `run.seed`.
    pub seed: u64,
    /// Iterations trained.
    pub iterations: usize,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Final evaluation (`recall@K`, `map@r`, …); empty when the run failed.
    pub metrics: BTreeMap<String, f64>,
    /// Evaluation of the untrained model, when the run made one.
    pub untrained: Option<BTreeMap<String, f64>>,
    /// The last drift diagnostic of the run, flattened (`before`, `after`, …).
    pub drift: BTreeMap<String, f64>,
    /// Largest memory term logged.
    pub max_memory_loss: Option<f64>,
    /// The run collapsed: it failed with a non-finite loss, or its final headline metric is
    /// below the untrained model's.
    pub collapsed: bool,
    /// Why the run failed, if it did.
    pub error: Option<String>,
}

impl CellResult {
    /// Reads `dir/result.json`, `None` when absent.
    pub fn read(dir: &Path) -> Result<Option<CellResult>> {
        let path = dir.join(RESULT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TrainError::io(&path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| TrainError::Json {
                what: path.display().to_string(),
                source,
            })
    }

    /// Writes `dir/result.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(RESULT_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|source| TrainError::Json {
            what: path.display().to_string(),
            source,
        })?;
        write_atomic(&path, text.as_bytes())
    }
}

/// The last drift record and the largest memory term of a run's `metrics.jsonl`.
pub fn drift_and_memory_term(dir: &Path) -> Result<(BTreeMap<String, f64>, Option<f64>)> {
    let records = read_records(&dir.join("metrics.jsonl"))?;
    let drift = records
        .iter()
        .rev()
        .find_map(|r| r.drift.as_ref())
        .map(|d| {
            let value = serde_json::to_value(d).unwrap_or(serde_json::Value::Null);
            let mut flat = BTreeMap::new();
            flatten("", &value, &mut flat);
            flat
        })
        .unwrap_or_default();
    let max_memory = records
        .iter()
        .filter_map(|r| r.loss.get("memory").copied())
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    Ok((drift, max_memory))
}

/// Numbers of a JSON value under dotted keys (`by_age.0.before`).
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, f64>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(prefix.to_string(), x);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&key(k), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&key(&i.to_string()), v, out);
            }
        }
        _ => {}
    }
}
