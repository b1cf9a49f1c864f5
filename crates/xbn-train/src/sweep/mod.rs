//! `xbn-train sweep --grid FILE`: every cell of a grid of configuration overrides as an ordinary
//! run in `<output_dir>/<sweep>/<cell>/`, then seed statistics in `summary.json`, `summary.md`
//! and `summary.png`.
//!
//! A cell is finished when its folder holds `result.json` and a `config.toml` equal to the
//! cell's configuration; a rerun skips it. A cell that was stopped (Ctrl-C, or the process
//! killed) resumes from its last checkpoint, so a killed sweep continues where it stopped.

pub mod cell_result;
pub mod grid;
pub mod plot;
pub mod stats;
pub mod summary;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use indicatif::ProgressBar;

use crate::checkpoint;
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::train::progress::styled_bar;
use crate::train::train;
use cell_result::{CellResult, drift_and_memory_term};
use grid::{Cell, Grid};
use summary::{Summary, summarize, write_summary};

/// What a sweep did.
#[derive(Debug)]
pub struct SweepOutcome {
    /// The sweep's folder.
    pub dir: PathBuf,
    /// Cells run (or resumed) by this call.
    pub ran: Vec<String>,
    /// Cells already finished, skipped.
    pub skipped: Vec<String>,
    /// Stopped by Ctrl-C before every cell finished (no summary then).
    pub interrupted: bool,
    /// The summary, when every cell finished.
    pub summary: Option<Summary>,
}

/// Options of a sweep besides the grid.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Draw a progress bar over the cells (on stderr).
    pub progress: bool,
    /// Only list the cells and whether each is finished; run nothing.
    pub dry_run: bool,
}

/// Runs the sweep of the grid file `grid_path`. `stop` is raised by Ctrl-C: the running cell
/// saves a checkpoint and the sweep returns.
pub fn run_sweep(
    grid_path: &Path,
    options: &SweepOptions,
    stop: Arc<AtomicBool>,
) -> Result<SweepOutcome> {
    let grid = Grid::from_file(grid_path)?;
    let cells = grid.cells(grid_path)?;
    check_metric(&grid.metric, &cells)?;
    let dir = grid
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs"))
        .join(grid.sweep_name(grid_path));
    let mut outcome = SweepOutcome {
        dir: dir.clone(),
        ran: Vec::new(),
        skipped: Vec::new(),
        interrupted: false,
        summary: None,
    };
    let configs: Vec<TrainConfig> = cells.iter().map(|c| cell_config(c, &dir)).collect();
    if options.dry_run {
        for (c, cfg) in cells.iter().zip(&configs) {
            if finished(&dir.join(&c.name), cfg)?.is_some() {
                outcome.skipped.push(c.name.clone());
            } else {
                outcome.ran.push(c.name.clone());
            }
        }
        return Ok(outcome);
    }
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    let grid_copy = dir.join("grid.toml");
    let grid_text = std::fs::read(grid_path).map_err(|e| TrainError::io(grid_path, e))?;
    checkpoint::atomic::write_atomic(&grid_copy, &grid_text)?;

    let bar = progress_bar(cells.len(), options.progress);
    let mut results = Vec::with_capacity(cells.len());
    for (i, (cell, cfg)) in cells.iter().zip(&configs).enumerate() {
        let run_dir = dir.join(&cell.name);
        if let Some(mut done) = finished(&run_dir, cfg)? {
            // Derived figures follow the current definition, not the one it was run with.
            done.drift = drift_and_memory_term(&run_dir)?.0;
            outcome.skipped.push(cell.name.clone());
            results.push(done);
            bar.inc(1);
            continue;
        }
        if outcome.ran.is_empty() {
            // Skipped cells took no time: estimate from the cells that run.
            bar.reset_eta();
        }
        bar.set_message(cell.name.clone());
        let resume = resumable(&run_dir, cfg);
        tracing::info!(
            "sweep {}: cell {}/{} {}{}",
            dir.display(),
            i + 1,
            cells.len(),
            cell.name,
            if resume { " (resumed)" } else { "" }
        );
        let Some(result) = run_cell(cell, cfg, &run_dir, resume, &grid.metric, stop.clone())?
        else {
            outcome.interrupted = true;
            break;
        };
        result.write(&run_dir)?;
        if !grid.keep_checkpoints {
            remove_large_outputs(&run_dir)?;
        }
        outcome.ran.push(cell.name.clone());
        results.push(result);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if outcome.interrupted {
        return Ok(outcome);
    }
    let summary = summarize(&grid.metric, &cells, &results);
    write_summary(&dir, &summary)?;
    if !plot::draw_summary(&dir, &summary, &grid.x)? {
        tracing::info!(
            "no summary.png: `{}` is not a numeric axis of the grid",
            grid.x
        );
    }
    if let Err(e) = crate::report::write_sweep_report(&dir) {
        tracing::warn!("report.html of the sweep not written: {e}");
    }
    outcome.summary = Some(summary);
    Ok(outcome)
}

/// The cell's configuration as a run of the sweep in `dir`.
fn cell_config(cell: &Cell, dir: &Path) -> TrainConfig {
    let mut cfg = cell.config.clone();
    cfg.run.name = cell.name.clone();
    cfg.run.output_dir = dir.to_path_buf();
    cfg.run.progress = false;
    cfg.run.overwrite = true;
    cfg
}

/// The cell's result when its run finished with exactly this configuration.
fn finished(run_dir: &Path, cfg: &TrainConfig) -> Result<Option<CellResult>> {
    if !same_config(run_dir, cfg) {
        return Ok(None);
    }
    CellResult::read(run_dir)
}

/// Whether the run folder holds a checkpoint of a run with this configuration.
fn resumable(run_dir: &Path, cfg: &TrainConfig) -> bool {
    run_dir.join(checkpoint::LAST).exists() && same_config(run_dir, cfg)
}

fn same_config(run_dir: &Path, cfg: &TrainConfig) -> bool {
    TrainConfig::from_file(&run_dir.join("config.toml")).is_ok_and(|saved| &saved == cfg)
}

/// Trains one cell; `None` when stopped before the end.
fn run_cell(
    cell: &Cell,
    cfg: &TrainConfig,
    run_dir: &Path,
    resume: bool,
    metric: &str,
    stop: Arc<AtomicBool>,
) -> Result<Option<CellResult>> {
    let start = Instant::now();
    let mut result = CellResult {
        cell: cell.name.clone(),
        axes: cell.axes.clone(),
        seed: cell.seed(),
        iterations: 0,
        seconds: 0.0,
        metrics: Default::default(),
        untrained: None,
        drift: Default::default(),
        max_memory_loss: None,
        collapsed: false,
        error: None,
    };
    match train(cfg, resume, stop) {
        Ok(out) if out.interrupted => return Ok(None),
        Ok(out) => {
            result.iterations = out.iterations;
            result.metrics = out.trained.map(|e| e.metrics).unwrap_or_default();
            // A resumed run evaluated its untrained model in the earlier process.
            result.untrained = match out.untrained {
                Some(e) => Some(e.metrics),
                None => first_evaluation(run_dir)?,
            };
            let below_start = match (&result.untrained, result.metrics.get(metric)) {
                (Some(u), Some(end)) => u.get(metric).is_some_and(|start| end < start),
                _ => false,
            };
            result.collapsed = below_start;
        }
        Err(e @ TrainError::NonFiniteLoss { iteration, .. }) => {
            tracing::warn!("cell {} collapsed: {e}", cell.name);
            // `iteration` is the step whose loss was not finite; the ones before it finished.
            result.iterations = iteration.saturating_sub(1);
            result.error = Some(e.to_string());
            result.collapsed = true;
            result.untrained = first_evaluation(run_dir)?;
        }
        Err(e) => return Err(e),
    }
    let (drift, max_memory) = drift_and_memory_term(run_dir)?;
    result.drift = drift;
    result.max_memory_loss = max_memory;
    result.seconds = start.elapsed().as_secs_f64();
    Ok(Some(result))
}

/// Deletes a finished cell's checkpoints and test embeddings (its result, metrics, log and
/// plots stay).
fn remove_large_outputs(run_dir: &Path) -> Result<()> {
    for name in [
        checkpoint::LAST,
        checkpoint::rotate::PREV,
        checkpoint::BEST,
        "embeddings.safetensors",
        "query_embeddings.safetensors",
        "gallery_embeddings.safetensors",
    ] {
        let path = run_dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TrainError::io(&path, e)),
        }
    }
    Ok(())
}

/// The evaluation logged at iteration 0 (the untrained model), if any.
fn first_evaluation(run_dir: &Path) -> Result<Option<std::collections::BTreeMap<String, f64>>> {
    let records = crate::outputs::metrics::read_records(&run_dir.join("metrics.jsonl"))?;
    Ok(records
        .into_iter()
        .find(|r| r.iteration == 0)
        .and_then(|r| r.eval))
}

/// The headline metric must be one every cell reports.
fn check_metric(metric: &str, cells: &[Cell]) -> Result<()> {
    let known = ["map@r", "r_precision", "precision@1"];
    for c in cells {
        let ok = match metric.strip_prefix("recall@") {
            Some(k) => k
                .parse::<usize>()
                .is_ok_and(|k| c.config.eval.k.contains(&k)),
            None => known.contains(&metric),
        };
        if !ok {
            return Err(TrainError::Config(format!(
                "grid metric `{metric}`: cell {} does not report it (eval.k = {:?}; or map@r, r_precision, precision@1)",
                c.name, c.config.eval.k
            )));
        }
    }
    Ok(())
}

fn progress_bar(cells: usize, enabled: bool) -> ProgressBar {
    styled_bar(
        cells,
        enabled,
        "{bar:30} {pos}/{len} cells  ETA {eta}  {msg}",
    )
}
