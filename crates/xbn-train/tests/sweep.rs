//! `xbn-train sweep`: a 2-cell grid runs, summarizes, resumes after a kill and skips finished
//! cells; the summary plot is drawn from seed statistics.

mod train_common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use xbn_train::sweep::cell_result::{CellResult, RESULT_FILE};
use xbn_train::sweep::grid::Grid;
use xbn_train::sweep::plot::draw_summary;
use xbn_train::sweep::summary::summarize;
use xbn_train::sweep::{SweepOptions, run_sweep};

/// A grid over `axes` on the tiny configuration, its runs under `dir/runs/<name>`.
fn write_grid(dir: &Path, name: &str, axes: &str) -> std::path::PathBuf {
    let base = train_common::tiny_config(dir, "unused");
    std::fs::write(dir.join("base.toml"), base.to_toml_string().unwrap()).unwrap();
    let grid = format!(
        "name = \"{name}\"\nbase = \"base.toml\"\noutput_dir = {:?}\nmetric = \"recall@1\"\n\n[axes]\n{axes}\n",
        dir.join("runs").display().to_string()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, grid).unwrap();
    path
}

/// Replaces `from` by `to` in the grid file at `path`; `from` must occur in it.
fn edit_grid(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "`{from}` is not in {}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

fn options() -> SweepOptions {
    SweepOptions {
        progress: false,
        dry_run: false,
    }
}

#[test]
fn a_killed_sweep_resumes_then_skips_finished_cells() {
    let dir = tempfile::tempdir().unwrap();
    let grid = write_grid(dir.path(), "norms", "\"norm.kind\" = [\"none\", \"xbn\"]");
    let sweep = dir.path().join("runs/norms");
    let (xbm, xbn) = ("kind=none", "kind=xbn");

    // Killed during the first cell: it leaves a checkpoint, no result, no summary.
    let killed = run_sweep(&grid, &options(), Arc::new(AtomicBool::new(true))).unwrap();
    assert!(killed.interrupted);
    assert!(killed.ran.is_empty() && killed.summary.is_none());
    assert!(sweep.join(xbm).join(xbn_train::checkpoint::LAST).exists());
    assert!(!sweep.join(xbm).join(RESULT_FILE).exists());
    assert!(!sweep.join("summary.json").exists());

    // Restarted: the first cell resumes from its checkpoint, the second runs.
    let listed = run_sweep(
        &grid,
        &SweepOptions {
            dry_run: true,
            ..options()
        },
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    assert_eq!(listed.ran, vec![xbm, xbn]);
    let done = run_sweep(&grid, &options(), Arc::new(AtomicBool::new(false))).unwrap();
    assert!(!done.interrupted);
    assert_eq!(done.ran, vec![xbm, xbn]);
    assert!(done.skipped.is_empty());
    let first = CellResult::read(&sweep.join(xbm)).unwrap().unwrap();
    assert_eq!(first.iterations, 6);
    assert!(
        first.untrained.is_some(),
        "the untrained evaluation of the killed process is kept"
    );
    assert!(first.metrics["recall@1"] > 0.0);
    // Drift: the mean over the run's measurements, and the last one under `final.`.
    for k in ["before", "after", "affine", "final.before", "final.affine"] {
        assert!(
            first.drift.contains_key(k),
            "{k} in {:?}",
            first.drift.keys()
        );
    }
    let summary = done.summary.unwrap();
    assert_eq!(summary.cells.len(), 2);
    assert_eq!(summary.groups.len(), 2);
    assert_eq!(summary.paired.len(), 1);
    let paired = &summary.paired[0];
    assert_eq!(paired.method, "norm.kind=\"xbn\"");
    assert_eq!(paired.baseline, "norm.kind=\"none\"");
    let d = paired.differences["recall@1"];
    let second = CellResult::read(&sweep.join(xbn)).unwrap().unwrap();
    assert_eq!(d.n, 1);
    assert!((d.mean - (second.metrics["recall@1"] - first.metrics["recall@1"])).abs() < 1e-12);
    for f in ["summary.json", "summary.md", "grid.toml"] {
        assert!(sweep.join(f).exists(), "{f}");
    }

    // A cell whose result is gone runs again; the finished one is skipped, untouched.
    let kept = std::fs::read(sweep.join(xbm).join(RESULT_FILE)).unwrap();
    std::fs::remove_file(sweep.join(xbn).join(RESULT_FILE)).unwrap();
    let again = run_sweep(&grid, &options(), Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(again.skipped, vec![xbm]);
    assert_eq!(again.ran, vec![xbn]);
    assert_eq!(
        std::fs::read(sweep.join(xbm).join(RESULT_FILE)).unwrap(),
        kept
    );
}

#[test]
fn the_summary_plot_has_one_line_per_method_over_the_x_axis() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_grid(
        dir.path(),
        "plot",
        "\"memory.size\" = [24, 48]\n\"norm.kind\" = [\"none\", \"xbn\"]\n\"run.seed\" = [0, 1]",
    );
    let grid = Grid::from_file(&path).unwrap();
    let cells = grid.cells(&path).unwrap();
    assert_eq!(cells.len(), 8);
    // Made-up results: XBN 0.05 above XBM on each seed.
    let results: Vec<CellResult> = cells
        .iter()
        .map(|c| {
            let base = if c.method().contains("xbn") {
                0.55
            } else {
                0.5
            };
            let r1 = base + 0.01 * c.seed() as f64 + 0.001 * c.config.memory.size as f64;
            CellResult {
                cell: c.name.clone(),
                axes: c.axes.clone(),
                seed: c.seed(),
                iterations: 6,
                seconds: 1.0,
                metrics: [("recall@1".to_string(), r1)].into_iter().collect(),
                untrained: None,
                drift: Default::default(),
                max_memory_loss: None,
                collapsed: false,
                error: None,
            }
        })
        .collect();
    let summary = summarize("recall@1", &cells, &results);
    assert_eq!(summary.groups.len(), 4);
    for p in &summary.paired {
        let d = p.differences["recall@1"];
        assert_eq!(d.n, 2);
        assert!((d.mean - 0.05).abs() < 1e-12, "{p:?}");
        assert_eq!(d.sign(), Some(true), "identical gains on both seeds");
    }
    assert!(draw_summary(dir.path(), &summary, "memory.size").unwrap());
    let png = std::fs::read(dir.path().join("summary.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    assert!(!draw_summary(dir.path(), &summary, "optim.gamma").unwrap());
}

#[test]
fn keep_checkpoints_false_deletes_them_once_a_cell_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let grid = write_grid(dir.path(), "lean", "\"norm.kind\" = [\"none\"]");
    edit_grid(&grid, "[axes]", "keep_checkpoints = false\n\n[axes]");
    let out = run_sweep(&grid, &options(), Arc::new(AtomicBool::new(false))).unwrap();
    let cell = dir.path().join("runs/lean/kind=none");
    assert_eq!(out.ran, vec!["kind=none"]);
    assert!(cell.join(RESULT_FILE).exists() && cell.join("metrics.jsonl").exists());
    assert!(!cell.join(xbn_train::checkpoint::LAST).exists());
    assert!(!cell.join(xbn_train::checkpoint::BEST).exists());
    assert!(!cell.join("embeddings.safetensors").exists());
    // Still finished: a rerun skips it.
    let again = run_sweep(&grid, &options(), Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(again.skipped, vec!["kind=none"]);
}

#[test]
fn a_headline_metric_the_cells_do_not_report_is_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let grid = write_grid(dir.path(), "bad", "\"norm.kind\" = [\"none\"]");
    edit_grid(&grid, "metric = \"recall@1\"", "metric = \"recall@5\"");
    let err = run_sweep(&grid, &options(), Arc::new(AtomicBool::new(false))).unwrap_err();
    assert!(err.to_string().contains("recall@5"), "{err}");
    assert!(
        err.to_string().contains("kind=none"),
        "names the cell: {err}"
    );
    assert!(!dir.path().join("runs/bad").exists(), "nothing was run");
}

#[test]
fn a_cell_whose_loss_turns_non_finite_is_recorded_as_collapsed_and_the_sweep_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A learning rate of 1e30 drives the weights out of f32's range within a few steps.
    let grid = write_grid(
        dir.path(),
        "diverge",
        "\"optim.lr_backbone+optim.lr_head+optim.warmup\" = [[1e30, 1e30, 0], [1e-3, 1e-3, 0]]",
    );
    let out = run_sweep(&grid, &options(), Arc::new(AtomicBool::new(false))).unwrap();
    let sweep = dir.path().join("runs/diverge");
    assert_eq!(out.ran.len(), 2, "the sweep goes on past the failed cell");
    let results: Vec<CellResult> = out
        .ran
        .iter()
        .map(|name| CellResult::read(&sweep.join(name)).unwrap().unwrap())
        .collect();
    let (failed, finished): (Vec<_>, Vec<_>) = results.iter().partition(|r| r.error.is_some());
    assert_eq!((failed.len(), finished.len()), (1, 1), "{results:?}");
    let (diverged, fine) = (failed[0], finished[0]);
    assert!(
        diverged.cell.starts_with("lr_backbone=1e30_"),
        "{diverged:?}"
    );
    assert!(
        (1..=6).contains(&diverged.iterations),
        "the steps it finished: {diverged:?}"
    );
    assert!(diverged.collapsed);
    let error = diverged.error.as_deref().unwrap_or_default();
    assert!(error.contains("non-finite"), "{error}");
    assert!(
        diverged.untrained.is_some(),
        "its untrained evaluation is kept"
    );
    assert!(
        diverged.metrics.is_empty(),
        "a failed run has no final metrics"
    );
    // (Whether the 6-step run ends above its untrained model is chance at this size.)
    assert!(
        fine.metrics["recall@1"] > 0.0 && fine.iterations == 6,
        "{fine:?}"
    );
    // The summary lists the collapsed seed under its setting and keeps the failed run out of the
    // metric's statistics instead of averaging it in.
    let summary = out.summary.unwrap();
    let group = summary
        .groups
        .iter()
        .find(|g| g.axes["optim.lr_backbone"].parse::<f64>().ok() == Some(1e30))
        .unwrap_or_else(|| panic!("no group of the diverged setting: {:?}", summary.groups));
    assert_eq!(group.collapsed, vec![0], "{group:?}");
    assert!(!group.stats.contains_key("recall@1"), "{group:?}");
    let md = std::fs::read_to_string(sweep.join("summary.md")).unwrap();
    assert!(md.contains("collapsed"), "{md}");
}
