//! `result.json`: what a finished cell of a sweep left, written atomically once its run ends.
//! Its presence (with the run's `config.toml` equal to the cell's) marks the cell finished.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::atomic::write_atomic;
use crate::error::{Result, TrainError};
use crate::outputs::metrics::{DriftRecord, read_records};

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
    /// The run's drift figures (`before`, `after`, `affine`, `removed_fraction`, `age 0-9.before`,
    /// …), each the mean over its drift measurements, and the final measurement's under
    /// `final.` (`final.before`, …).
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

/// The drift figures of a run, each the mean over the run's drift measurements (the share of
/// removable drift removed from those means), the figures of its final measurement under
/// `final.`, and the largest memory term logged, from its `metrics.jsonl`.
pub fn drift_and_memory_term(dir: &Path) -> Result<(BTreeMap<String, f64>, Option<f64>)> {
    let records = read_records(&dir.join("metrics.jsonl"))?;
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for d in records.iter().filter_map(|r| r.drift.as_ref()) {
        for (k, v) in drift_figures(d) {
            let e = sums.entry(k).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    let mut drift: BTreeMap<String, f64> = sums
        .into_iter()
        .map(|(k, (sum, n))| (k, sum / n as f64))
        .collect();
    if let (Some(b), Some(a), Some(f)) = (
        drift.get("before").copied(),
        drift.get("after").copied(),
        drift.get("affine").copied(),
    ) {
        if b - f > 1e-9 * b.max(1e-12) {
            drift.insert("removed_fraction".into(), (b - a) / (b - f));
        }
    }
    // The final measurement too, under `final.` (where a decaying schedule has stopped learning,
    // so it is the run's end state, not its typical drift).
    if let Some(last) = records.iter().rev().find_map(|r| r.drift.as_ref()) {
        for (k, v) in drift_figures(last) {
            drift.insert(format!("final.{k}"), v);
        }
        if let Some(f) = last.removed_fraction {
            drift.insert("final.removed_fraction".into(), f);
        }
    }
    let max_memory = records
        .iter()
        .filter_map(|r| r.loss.get("memory").copied())
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    Ok((drift, max_memory))
}

/// The figures of a drift record by name: `before`, `after`, `affine`, and per age bucket `age 0-9.before`, `age 0-9.after`, `age 0-9.affine`, ….
fn drift_figures(d: &DriftRecord) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::from([
        ("before".to_string(), d.before),
        ("after".to_string(), d.after),
    ]);
    if let Some(a) = d.affine {
        out.insert("affine".into(), a);
    }
    for b in &d.by_age {
        out.insert(format!("age {}.before", b.ages), b.before);
        out.insert(format!("age {}.after", b.ages), b.after);
        out.insert(format!("age {}.affine", b.ages), b.affine);
    }
    out
}
