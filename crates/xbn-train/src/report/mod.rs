//! `report.html`: one self-contained page per run (and per sweep) to see what the model
//! retrieves and how training went, with no server and no network: charts are inline SVG and
//! pictures are embedded as data URIs. Training writes it at each evaluation and at the end;
//! `xbn-train report DIR` writes it again; `xbn-train gallery` draws the retrieval gallery as
//! one PNG (see `docs/report.md`).

pub mod curves;
pub mod gallery_png;
pub mod page;
pub mod retrieval;
pub mod run_page;
pub mod sweep_page;
pub mod thumbnails;

use std::path::{Path, PathBuf};

use candle_core::Device;

use crate::checkpoint::{self, Checkpoint, atomic::write_atomic};
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::outputs::embeddings::load_embeddings;
use crate::outputs::metrics::{MetricsRecord, read_records};
use crate::train::data::TrainData;
use crate::train::evaluate::{EmbeddedSet, TestEmbeddings, evaluate_model};
use crate::train::network::{build_model, load_model_state};
pub use retrieval::RetrievalOptions;
use run_page::{RetrievalInput, RunInputs, run_context};

/// File name of the page inside a run or sweep folder.
pub const REPORT_FILE: &str = "report.html";

/// What the galleries show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOptions {
    /// Queries, neighbours, worst queries, confused pairs and the sample's seed.
    pub retrieval: RetrievalOptions,
    /// Thumbnail size in pixels.
    pub thumb: u32,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            retrieval: RetrievalOptions::default(),
            thumb: 96,
        }
    }
}

/// The records of `dir/metrics.jsonl`; none when the file does not exist yet.
fn records_of(dir: &Path) -> Result<Vec<MetricsRecord>> {
    let path = dir.join("metrics.jsonl");
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_records(&path)
}

/// Writes `dir/report.html` for a run with its dataset opened as `data` and, when given, the
/// test embeddings of the evaluation just made (rows in the order of
/// [`TrainData::test_protocol`]).
pub fn write_run_report(
    dir: &Path,
    cfg: &TrainConfig,
    data: &TrainData,
    embeddings: Option<&TestEmbeddings>,
    options: &ReportOptions,
) -> Result<PathBuf> {
    let records = records_of(dir)?;
    let config = cfg.to_toml_string()?;
    let (queries, gallery) = data.test_protocol();
    let retrieval = match embeddings {
        Some(e) => Ok(RetrievalInput {
            index: data.index(),
            query_items: &queries,
            gallery_items: gallery.as_deref(),
            embeddings: e,
        }),
        None => Err("no test embeddings yet".to_string()),
    };
    let inputs = RunInputs {
        dir,
        config: &config,
        best_metric: &cfg.eval.best_metric,
        records: &records,
        retrieval,
    };
    write_page(dir, &page::render(&run_context(&inputs, options)?)?)
}

/// Writes `report.html` into `dir`, a run folder or a sweep folder (one holding
/// `summary.json`): the `xbn-train report` command. For a run, the test embeddings come from
/// the run's embedding files, or are computed on `device` from its last checkpoint when
/// those are absent; without either (or without the dataset) the page has no galleries and
/// says why.
pub fn report_folder(dir: &Path, options: &ReportOptions, device: &Device) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(TrainError::Report(format!(
            "{}: no such run or sweep folder",
            dir.display()
        )));
    }
    if sweep_page::is_sweep(dir) {
        return write_sweep_report(dir);
    }
    let cfg_path = dir.join("config.toml");
    if !cfg_path.is_file() {
        return Err(TrainError::Report(format!(
            "{}: not a run folder (no config.toml) nor a sweep folder (no summary.json)",
            dir.display()
        )));
    }
    let cfg = TrainConfig::from_file(&cfg_path)?;
    match open_test_set(dir, &cfg, device) {
        Ok((data, embeddings)) => write_run_report(dir, &cfg, &data, Some(&embeddings), options),
        Err(e) => {
            let records = records_of(dir)?;
            let config = cfg.to_toml_string()?;
            let inputs = RunInputs {
                dir,
                config: &config,
                best_metric: &cfg.eval.best_metric,
                records: &records,
                retrieval: Err(e.to_string()),
            };
            write_page(dir, &page::render(&run_context(&inputs, options)?)?)
        }
    }
}

/// The run's dataset and its test embeddings: from the embedding files the run wrote at its
/// end, else computed from its last checkpoint.
pub fn open_test_set(
    dir: &Path,
    cfg: &TrainConfig,
    device: &Device,
) -> Result<(TrainData, TestEmbeddings)> {
    let model = build_model(cfg, false, device)?;
    let data = TrainData::open(cfg, &model.backbone.input_spec(), model.tokenizer.clone())?;
    if let Some(e) = saved_test_embeddings(dir)? {
        return Ok((data, e));
    }
    let ck_path = dir.join(checkpoint::LAST);
    if !ck_path.is_file() {
        return Err(TrainError::Report(format!(
            "{} holds neither test embeddings (embeddings.safetensors) nor a checkpoint ({})",
            dir.display(),
            checkpoint::LAST
        )));
    }
    let ck = Checkpoint::load(&ck_path, device)?;
    load_model_state(model.backbone.as_ref(), &ck.part("model"))?;
    let ks = if cfg.eval.k.is_empty() {
        data.standard_ks()
    } else {
        cfg.eval.k.clone()
    };
    let e = evaluate_model(
        model.backbone.as_ref(),
        &data,
        &ks,
        cfg.eval.batch_size,
        device,
    )?;
    Ok((data, e.embeddings))
}

/// The test embeddings a finished run wrote, if any.
fn saved_test_embeddings(dir: &Path) -> Result<Option<TestEmbeddings>> {
    let set = |path: PathBuf| -> Result<EmbeddedSet> {
        let (embeddings, labels) = load_embeddings(&path)?;
        Ok(EmbeddedSet { embeddings, labels })
    };
    let loo = dir.join("embeddings.safetensors");
    if loo.is_file() {
        return Ok(Some(TestEmbeddings {
            query: set(loo)?,
            gallery: None,
        }));
    }
    let (q, g) = (
        dir.join("query_embeddings.safetensors"),
        dir.join("gallery_embeddings.safetensors"),
    );
    if q.is_file() && g.is_file() {
        return Ok(Some(TestEmbeddings {
            query: set(q)?,
            gallery: Some(set(g)?),
        }));
    }
    Ok(None)
}

/// Writes the `report.html` of the sweep folder `dir` (holding `summary.json`).
pub fn write_sweep_report(dir: &Path) -> Result<PathBuf> {
    write_page(dir, &page::render(&sweep_page::sweep_context(dir)?)?)
}

/// Writes `html` to `dir/report.html` atomically.
pub fn write_page(dir: &Path, html: &str) -> Result<PathBuf> {
    let path = dir.join(REPORT_FILE);
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}
