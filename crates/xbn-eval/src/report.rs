//! The evaluation report: JSON (`to_json`) and a human table (`Display`).

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::Protocol;

/// Retrieval metrics of one evaluation (definitions in `docs/evaluation.md` and
/// [`crate::evaluate`]). Averages are over the `queries − excluded` scored queries.
///
/// Serialises as one JSON object with the keys, in this order: `"recall@K"` for each
/// requested K, `"map@r"`, `"r_precision"`, `"precision@1"`, `"queries"`, `"excluded"`, and
/// `"warnings"` (a list of strings) only when there are warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// The protocol evaluated.
    pub protocol: Protocol,
    /// The requested K of each Recall@K, in the caller's order.
    pub ks: Vec<usize>,
    /// Recall@K for each of `ks`: fraction of scored queries with a relevant item among their
    /// `min(K, available)` nearest neighbours.
    pub recall: Vec<f64>,
    /// Number of scored queries with a hit within each K (`recall[i] · scored`).
    pub recall_hits: Vec<usize>,
    /// Mean AP@R (Musgrave et al.; PML's `mean_average_precision_at_r`).
    pub map_at_r: f64,
    /// Mean R-precision (PML's `r_precision`).
    pub r_precision: f64,
    /// Precision@1 (PML's `precision_at_1`).
    pub precision_at_1: f64,
    /// Number of query rows.
    pub queries: usize,
    /// Queries without any relevant reference (`R_q = 0`), left out of every average.
    pub excluded: usize,
    /// Neighbours retrieved per query (`max(max K, max R_q)`, capped).
    pub neighbours: usize,
    /// Caps applied and other things the reader must know (e.g. K above the reference count).
    pub warnings: Vec<String>,
}

impl EvalReport {
    /// Number of queries that were scored.
    pub fn scored(&self) -> usize {
        self.queries - self.excluded
    }

    /// The scores, named as in the JSON object: `recall@K` for each K, `map@r`, `r_precision`,
    /// `precision@1`, then the counts `queries` and `excluded`.
    ///
    /// ```
    /// # use xbn_eval::{EvalReport, Protocol};
    /// let r = EvalReport {
    ///     protocol: Protocol::LeaveOneOut, ks: vec![1], recall: vec![0.5], recall_hits: vec![1],
    ///     map_at_r: 0.25, r_precision: 0.5, precision_at_1: 0.5, queries: 3, excluded: 1,
    ///     neighbours: 1, warnings: vec![],
    /// };
    /// let names: Vec<String> = r.named_values().into_iter().map(|(k, _)| k).collect();
    /// assert_eq!(names, ["recall@1", "map@r", "r_precision", "precision@1", "queries", "excluded"]);
    /// ```
    pub fn named_values(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .ks
            .iter()
            .zip(&self.recall)
            .map(|(k, r)| (format!("recall@{k}"), *r))
            .collect();
        out.extend([
            ("map@r".to_string(), self.map_at_r),
            ("r_precision".to_string(), self.r_precision),
            ("precision@1".to_string(), self.precision_at_1),
            ("queries".to_string(), self.queries as f64),
            ("excluded".to_string(), self.excluded as f64),
        ]);
        out
    }

    /// The report as one JSON object (see [`EvalReport`] for the keys).
    ///
    /// ```
    /// # use xbn_eval::{EvalReport, Protocol};
    /// let r = EvalReport {
    ///     protocol: Protocol::LeaveOneOut, ks: vec![1, 10], recall: vec![0.5, 1.0],
    ///     recall_hits: vec![1, 2], map_at_r: 0.25, r_precision: 0.5, precision_at_1: 0.5,
    ///     queries: 3, excluded: 1, neighbours: 10, warnings: vec![],
    /// };
    /// assert_eq!(r.to_json(), r#"{"recall@1":0.5,"recall@10":1.0,"map@r":0.25,"r_precision":0.5,"precision@1":0.5,"queries":3,"excluded":1}"#);
    /// ```
    pub fn to_json(&self) -> String {
        // Serialising plain numbers and strings into a String cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

impl Serialize for EvalReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extra = usize::from(!self.warnings.is_empty());
        let mut map = serializer.serialize_map(Some(self.ks.len() + 5 + extra))?;
        for (k, r) in self.ks.iter().zip(&self.recall) {
            map.serialize_entry(&format!("recall@{k}"), r)?;
        }
        map.serialize_entry("map@r", &self.map_at_r)?;
        map.serialize_entry("r_precision", &self.r_precision)?;
        map.serialize_entry("precision@1", &self.precision_at_1)?;
        map.serialize_entry("queries", &self.queries)?;
        map.serialize_entry("excluded", &self.excluded)?;
        if !self.warnings.is_empty() {
            map.serialize_entry("warnings", &self.warnings)?;
        }
        map.end()
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "protocol {}: {} queries, {} excluded (no relevant reference), {} scored",
            self.protocol,
            self.queries,
            self.excluded,
            self.scored()
        )?;
        writeln!(f, "{:<14} {:>9}", "metric", "value")?;
        for (k, r) in self.ks.iter().zip(&self.recall) {
            writeln!(f, "{:<14} {:>8.2}%", format!("recall@{k}"), 100.0 * r)?;
        }
        writeln!(
            f,
            "{:<14} {:>8.2}%",
            "precision@1",
            100.0 * self.precision_at_1
        )?;
        writeln!(
            f,
            "{:<14} {:>8.2}%",
            "r_precision",
            100.0 * self.r_precision
        )?;
        write!(f, "{:<14} {:>8.2}%", "map@r", 100.0 * self.map_at_r)?;
        for w in &self.warnings {
            write!(f, "\nwarning: {w}")?;
        }
        Ok(())
    }
}
