//! The layout check run on an unpacked dataset before it is moved into place: the manifest's
//! proof files must exist, then the xbn-data reader of the dataset's kind must read it without
//! problems (`xbn_data::check_dataset`, the same code as `xbn-train data-check`).

use std::path::Path;

use xbn_data::{DatasetKind, LoadOptions, check_dataset};

use super::error::{FetchError, Result};
use super::manifest::{Manifest, describe_proof, proof_alternatives};

/// What the layout check found on a complete dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutSummary {
    /// One line per split from the xbn-data check (empty when the manifest names no kind).
    pub splits: Vec<String>,
}

/// The proof entries of `manifest` none of whose alternatives exists under `folder`, each as
/// [`describe_proof`] gives it (`list.txt or Eval/list.txt`).
pub fn missing_proof(manifest: &Manifest, folder: &Path) -> Vec<String> {
    manifest
        .proof
        .iter()
        .filter(|p| {
            proof_alternatives(p).all(|a| std::fs::symlink_metadata(folder.join(a)).is_err())
        })
        .map(|p| describe_proof(p))
        .collect()
}

/// Checks `folder` (the dataset's own folder) against `manifest`.
pub fn check_layout(manifest: &Manifest, folder: &Path) -> Result<LayoutSummary> {
    let fail = |problems: Vec<String>| FetchError::Layout {
        name: manifest.name.clone(),
        folder: folder.to_path_buf(),
        problems,
    };
    let missing = missing_proof(manifest, folder);
    if !missing.is_empty() {
        return Err(fail(
            missing.iter().map(|m| format!("missing {m}")).collect(),
        ));
    }
    let Some(kind) = &manifest.kind else {
        return Ok(LayoutSummary { splits: Vec::new() });
    };
    let kind: DatasetKind = kind
        .parse()
        .map_err(|e: xbn_data::DataError| fail(vec![e.to_string()]))?;
    let report = check_dataset(kind, folder, &LoadOptions::default())
        .map_err(|e| fail(vec![e.to_string()]))?;
    if !report.ok {
        return Err(fail(report.problems));
    }
    let unit = match kind {
        DatasetKind::TextFolder | DatasetKind::Jsonl => "texts",
        _ => "images",
    };
    let splits = report
        .splits
        .iter()
        .map(|s| {
            let mut line = format!("{}: {} {unit}, {} classes", s.split, s.images, s.classes);
            if let (Some(q), Some(g)) = (s.queries, s.gallery) {
                line.push_str(&format!(", {q} queries, {g} gallery"));
            }
            line
        })
        .collect();
    Ok(LayoutSummary { splits })
}
