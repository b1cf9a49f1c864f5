//! `metrics.jsonl`: one JSON object per log step.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::append::AppendFile;
use crate::checkpoint::atomic::write_atomic;
use crate::error::{Result, TrainError};

/// The drift diagnostic on a sample of memory entries: mean Euclidean distance between the
/// stored entries and the embeddings the current weights give the same views,
/// `mean_i ‖m_i − f_θ(x_i)‖` (see `train::drift`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRecord {
    /// With the entries as enqueued (no moment matching).
    pub before: f64,
    /// With the entries as adapted by XBN/AXBN (equal to `before` for plain XBM).
    pub after: f64,
    /// Number of entries measured.
    pub sample: usize,
    /// What the best per-dimension affine map from stored to fresh embeddings (least squares
    /// on this sample) leaves: the least drift per-dimension moment matching could leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affine: Option<f64>,
    /// The share of the drift moment matching could remove that it removed,
    /// `(before − after) / (before − affine)`; absent when nothing was removable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_fraction: Option<f64>,
    /// The same figures per age (iterations since enqueue) bucket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_age: Vec<AgeDrift>,
}

/// Drift of the entries of one age bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgeDrift {
    /// The bucket, `0-9`, `10-99`, `100-999` or `1000+` iterations since enqueue.
    pub ages: String,
    /// Entries of the sample in the bucket.
    pub n: usize,
    /// Mean distance as enqueued.
    pub before: f64,
    /// Mean distance as adapted.
    pub after: f64,
    /// Mean distance after the sample's best per-dimension affine map.
    pub affine: f64,
}

/// The moments' shift of one adaptation (see `xbn_core::MomentShift`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShiftRecord {
    /// Mean absolute shift of the per-dimension means.
    pub mean: f64,
    /// Mean absolute shift of the per-dimension log standard deviations.
    pub log_std: f64,
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MetricsRecord {
    /// Iterations completed.
    pub iteration: usize,
    /// Loss terms of the last iteration: `total`, `batch` (`ℓ(Z,Z)`), `memory` (`w·ℓ(Z,M̂)`).
    pub loss: BTreeMap<String, f64>,
    /// Learning rate of the backbone.
    pub lr_backbone: f64,
    /// Learning rate of the head.
    pub lr_head: f64,
    /// Training throughput since the previous log step.
    pub images_per_s: f64,
    /// Entries in the memory.
    pub memory_fill: usize,
    /// The moments' shift of the last XBN/AXBN adaptation (`mean_k |μ_M − μ_T|` and
    /// `mean_k |log σ_M − log σ_T|`); absent for plain XBM or before the memory is used.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub moments_shift: Option<ShiftRecord>,
    /// Drift diagnostic, when measured at this step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub drift: Option<DriftRecord>,
    /// Evaluation metrics (`recall@1`, `map@r`, …), when evaluated at this step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval: Option<BTreeMap<String, f64>>,
}

/// Appends records to `metrics.jsonl`, flushing every line.
#[derive(Debug)]
pub struct MetricsWriter(AppendFile);

impl MetricsWriter {
    /// Opens `path` for appending, first dropping lines after iteration `keep_up_to` (resume:
    /// the lines a stopped run wrote after its last checkpoint are recomputed).
    pub fn open(path: &Path, keep_up_to: Option<usize>) -> Result<Self> {
        if let Some(limit) = keep_up_to {
            let kept: Vec<String> = read_lines(path)?
                .into_iter()
                .filter(|(rec, _)| rec.iteration <= limit)
                .map(|(_, line)| line)
                .collect();
            let mut text = kept.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            // Replaced whole or not at all: a crash here keeps the old file.
            write_atomic(path, text.as_bytes())?;
        }
        AppendFile::open(path).map(MetricsWriter)
    }

    /// Appends one record.
    pub fn write(&mut self, record: &MetricsRecord) -> Result<()> {
        let line = serde_json::to_string(record).map_err(|source| TrainError::Json {
            what: self.0.path().display().to_string(),
            source,
        })?;
        self.0.write_line(&line)
    }
}

/// Reads every record of a `metrics.jsonl` (missing file: none).
pub fn read_records(path: &Path) -> Result<Vec<MetricsRecord>> {
    Ok(read_lines(path)?.into_iter().map(|(r, _)| r).collect())
}

fn read_lines(path: &Path) -> Result<Vec<(MetricsRecord, String)>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainError::io(path, e)),
    };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| TrainError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: MetricsRecord =
            serde_json::from_str(&line).map_err(|source| TrainError::Json {
                what: format!("{}:{}", path.display(), n + 1),
                source,
            })?;
        out.push((rec, line));
    }
    Ok(out)
}
