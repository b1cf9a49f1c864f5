//! A few-iteration training run on a tiny synthetic dataset: every output is written and the
//! saved test embeddings re-score to the final evaluation.

mod train_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use xbn_train::checkpoint::{self, Checkpoint};
use xbn_train::outputs::metrics::read_records;
use xbn_train::train::train;

#[test]
fn tiny_run_writes_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = train_common::tiny_config(dir.path(), "tiny");
    let out = train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(out.iterations, 6);
    assert!(!out.interrupted);
    let run = dir.path().join("tiny");
    assert_eq!(out.dir, run);

    // The resolved configuration reproduces the run's configuration.
    let saved = xbn_train::config::TrainConfig::from_file(&run.join("config.toml")).unwrap();
    assert_eq!(saved, cfg);

    // metrics.jsonl: the untrained evaluation, one line per iteration (log_every = 1).
    let recs = read_records(&run.join("metrics.jsonl")).unwrap();
    let iters: Vec<usize> = recs.iter().map(|r| r.iteration).collect();
    assert_eq!(iters, vec![0, 1, 2, 3, 4, 5, 6]);
    assert!(
        recs[0].eval.is_some(),
        "untrained evaluation at iteration 0"
    );
    for r in &recs[1..] {
        assert!(r.loss["total"].is_finite());
        assert!(r.lr_backbone > 0.0 && r.lr_head > 0.0);
        assert!(r.images_per_s > 0.0);
        // Memory term on from t_start = 2 (0-based): iterations 3.. have one. As in XBM
        // (memory.fill = "at-t-start"), batches enter the memory from t_start on (8 per batch,
        // capacity 24).
        assert_eq!(r.loss.contains_key("memory"), r.iteration > 2, "{r:?}");
        assert_eq!(r.memory_fill, (r.iteration.saturating_sub(2) * 8).min(24));
    }
    // AXBN adapts from the second memory iteration on, so its shift is logged.
    assert!(recs[4].moments_shift.is_some());
    // Drift every 2 iterations once the memory holds entries.
    assert!(recs[4].drift.is_some() && recs[6].drift.is_some());
    let d = recs[6].drift.clone().unwrap();
    assert!(d.before.is_finite() && d.after.is_finite() && d.sample == 8);
    // Evaluations at 3 and 6.
    assert!(recs[3].eval.is_some() && recs[6].eval.is_some());
    for k in [
        "recall@1",
        "recall@2",
        "map@r",
        "r_precision",
        "precision@1",
        "queries",
    ] {
        assert!(recs[6].eval.as_ref().unwrap().contains_key(k), "{k}");
    }

    // Checkpoint with every part.
    let ck = Checkpoint::load(&run.join(checkpoint::LAST), &candle_core::Device::Cpu).unwrap();
    assert_eq!(ck.metadata["iteration"], "6");
    for prefix in ["model", "optim", "memory", "sampler"] {
        assert!(!ck.part(prefix).is_empty(), "checkpoint lacks `{prefix}.*`");
    }
    // One part holds the memory's whole state: queue, iteration, filter state, provenance.
    let memory = ck.part("memory");
    for key in [
        "iteration",
        "matcher.initialized",
        "provenance.dataset_index",
        "provenance.as_enqueued",
    ] {
        assert!(memory.contains_key(key), "checkpoint lacks `memory.{key}`");
    }
    assert!(ck.part("ledger").is_empty() && ck.part("norm").is_empty());
    assert_eq!(ck.part("memory")["embeddings"].dims(), &[24, 16]);
    assert!(run.join(checkpoint::BEST).exists());

    // Plots and the human log.
    for f in ["loss.png", "recall.png", "drift.png", "train.log"] {
        let m = std::fs::metadata(run.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(m.len() > 0, "{f} is empty");
    }

    // The final test embeddings re-score to the final evaluation.
    let trained = out.trained.unwrap();
    let report = xbn_eval::evaluate_files(
        &run.join("embeddings.safetensors"),
        None,
        xbn_eval::Protocol::LeaveOneOut,
        &[1, 2],
        &xbn_eval::EvalOptions::default(),
    )
    .unwrap();
    assert_eq!(report.recall, trained.report.recall);
    assert_eq!(report.map_at_r, trained.report.map_at_r);
}

#[test]
fn plain_xbm_and_xbn_runs_complete() {
    for kind in [
        xbn_train::config::NormKind::None,
        xbn_train::config::NormKind::Xbn,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = train_common::tiny_config(dir.path(), "norm");
        cfg.norm.kind = kind;
        cfg.run.iterations = 4;
        cfg.run.eval_untrained = false;
        cfg.memory.warm_start = true;
        let out = train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
        assert_eq!(out.iterations, 4);
        let recs = read_records(&dir.path().join("norm/metrics.jsonl")).unwrap();
        // Warm start at t_start fills the memory with 24 training images, then a batch of 8
        // arrives (FIFO keeps 24).
        assert_eq!(
            recs.iter().find(|r| r.iteration == 3).unwrap().memory_fill,
            24
        );
        let drift = recs.iter().find_map(|r| r.drift.clone()).unwrap();
        if kind == xbn_train::config::NormKind::None {
            assert_eq!(drift.before, drift.after, "no adaptation: stored = adapted");
        }
    }
}

#[test]
fn the_drift_diagnostic_does_not_change_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut with = train_common::tiny_config(dir.path(), "with-drift");
    with.run.measure_drift = 1;
    with.run.eval_untrained = false;
    // Entries from the first iteration on, so that every iteration has drift to measure.
    with.memory.fill = xbn_train::config::MemoryFill::FromStart;
    let mut without = with.clone();
    without.run.name = "without-drift".into();
    without.run.measure_drift = 0;
    train(&with, false, Arc::new(AtomicBool::new(false))).unwrap();
    train(&without, false, Arc::new(AtomicBool::new(false))).unwrap();
    let a = read_records(&dir.path().join("with-drift/metrics.jsonl")).unwrap();
    let b = read_records(&dir.path().join("without-drift/metrics.jsonl")).unwrap();
    assert_eq!(a.len(), b.len());
    assert!(a.iter().filter(|r| r.drift.is_some()).count() >= 5);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.loss, y.loss, "iteration {}", x.iteration);
        assert_eq!(x.eval, y.eval, "iteration {}", x.iteration);
    }
}

#[test]
fn memory_fill_at_t_start_enqueues_nothing_before_t_start() {
    use xbn_train::config::MemoryFill;
    let dir = tempfile::tempdir().unwrap();
    let mut fills = Vec::new();
    for (name, fill) in [
        ("at-t-start", MemoryFill::AtTStart),
        ("from-start", MemoryFill::FromStart),
    ] {
        let mut cfg = train_common::tiny_config(dir.path(), name);
        cfg.memory.fill = fill;
        cfg.memory.t_start = 3;
        cfg.run.iterations = 5;
        cfg.run.eval_untrained = false;
        cfg.run.measure_drift = 0;
        train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
        let recs = read_records(&dir.path().join(format!("{name}/metrics.jsonl"))).unwrap();
        let fill: Vec<(usize, usize)> = recs.iter().map(|r| (r.iteration, r.memory_fill)).collect();
        fills.push(fill);
    }
    let (at_t_start, from_start) = (&fills[0], &fills[1]);
    let batch = 8;
    for &(t, n) in at_t_start {
        if t < 3 {
            assert_eq!(
                n, 0,
                "at-t-start: {n} entries at iteration {t}: {at_t_start:?}"
            );
        }
    }
    assert!(
        at_t_start.iter().any(|&(t, n)| t >= 3 && n >= batch),
        "at-t-start: the memory never filled: {at_t_start:?}"
    );
    assert!(
        from_start.iter().any(|&(t, n)| t < 3 && n >= batch),
        "from-start: nothing enqueued before t_start: {from_start:?}"
    );
}

/// The diagnostic re-embeds the very view each entry was enqueued from: with the weights and
/// the BatchNorm statistics frozen (no learning, BatchNorm in inference mode), the fresh
/// embedding of an entry is its stored one, so the measured drift is zero. Re-embedding another
/// view of the same image (the evaluation transform, or another augmentation) would not be.
#[test]
fn with_frozen_weights_the_same_view_shows_no_drift() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(dir.path(), "frozen");
    cfg.optim.lr_backbone = 0.0;
    cfg.optim.lr_head = 0.0;
    cfg.optim.weight_decay = 0.0;
    cfg.model.freeze_bn = true;
    cfg.norm.kind = xbn_train::config::NormKind::None;
    cfg.memory.fill = xbn_train::config::MemoryFill::FromStart;
    cfg.run.measure_drift = 1;
    cfg.run.eval_untrained = false;
    train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    let recs = read_records(&dir.path().join("frozen/metrics.jsonl")).unwrap();
    let drifts: Vec<_> = recs.iter().filter_map(|r| r.drift.clone()).collect();
    assert!(drifts.len() >= 5);
    for d in &drifts {
        assert!(d.before < 1e-5, "{d:?}");
        assert!(!d.by_age.is_empty() && d.by_age.iter().map(|b| b.n).sum::<usize>() == d.sample);
    }
}
