//! The page of a sweep folder: its summary table (`summary.md`), its plot (`summary.png`) and a
//! link to the page of every cell.

use std::path::Path;

use pulldown_cmark::{Options, Parser, html};

use super::page::{CellLink, PageContext, SectionLink};
use super::thumbnails::png_data_uri;
use crate::error::{Result, TrainError};
use crate::report::REPORT_FILE;

/// Whether `dir` is a sweep folder (it holds `summary.json`).
pub fn is_sweep(dir: &Path) -> bool {
    dir.join("summary.json").is_file()
}

/// Builds the page's context from `summary.json`, `summary.md` and `summary.png`.
pub fn sweep_context(dir: &Path) -> Result<PageContext> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    let summary: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| TrainError::Report(format!("{}: not JSON: {e}", path.display())))?;
    let metric = summary["metric"].as_str().unwrap_or("recall@1").to_string();
    let cells = summary["cells"]
        .as_array()
        .ok_or_else(|| TrainError::Report(format!("{}: no `cells` array", path.display())))?
        .iter()
        .map(|c| {
            let name = c["cell"].as_str().unwrap_or_default().to_string();
            let href = format!("{name}/{REPORT_FILE}");
            CellLink {
                seed: c["seed"].to_string(),
                value: c["metrics"][&metric]
                    .as_f64()
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or_else(|| "failed".into()),
                has_page: !name.is_empty() && dir.join(&href).is_file(),
                href,
                name,
            }
        })
        .collect();
    let md_path = dir.join("summary.md");
    let mut notes = Vec::new();
    let summary_html = match std::fs::read_to_string(&md_path) {
        Ok(md) => {
            let mut out = String::new();
            html::push_html(&mut out, Parser::new_ext(&md, Options::ENABLE_TABLES));
            out
        }
        Err(e) => {
            notes.push(format!("{}: {e}", md_path.display()));
            String::new()
        }
    };
    let summary_png = std::fs::read(dir.join("summary.png"))
        .ok()
        .map(|b| png_data_uri(&b));
    Ok(PageContext {
        kind: "sweep",
        title: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        subtitle: format!("sweep in {}", dir.display()),
        sections: vec![
            SectionLink {
                id: "summary",
                name: "Summary",
            },
            SectionLink {
                id: "plot",
                name: "Plot",
            },
            SectionLink {
                id: "cells",
                name: "Cells",
            },
        ],
        notes,
        summary_html,
        summary_png,
        metric,
        cells,
        version: env!("CARGO_PKG_VERSION"),
        ..PageContext::default()
    })
}
