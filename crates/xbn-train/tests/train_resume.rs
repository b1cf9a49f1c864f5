//! Resume is exact: 2N iterations straight and N + resume N give identical metrics,
//! checkpoints and test embeddings on the CPU. Ctrl-C saves a checkpoint that resumes.

mod train_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device};
use xbn_train::checkpoint::{self, Checkpoint};
use xbn_train::outputs::metrics::{MetricsRecord, read_records};
use xbn_train::train::train;

fn comparable(mut recs: Vec<MetricsRecord>) -> Vec<MetricsRecord> {
    for r in &mut recs {
        r.images_per_s = 0.0; // wall-clock dependent
    }
    recs
}

fn flat(t: &candle_core::Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn straight_and_resumed_runs_are_identical() {
    assert_resume_is_exact("xbm-contrastive");
}

#[test]
fn proxy_anchor_trains_and_resumes_exactly() {
    // The proxies are learnable: they are optimized and checkpointed (`lossparams.*`).
    assert_resume_is_exact("proxy-anchor");
}

fn assert_resume_is_exact(loss: &str) {
    let dir = tempfile::tempdir().unwrap();
    let no_stop = || Arc::new(AtomicBool::new(false));
    let mut straight = train_common::tiny_config(dir.path(), "straight");
    straight.loss.name = loss.into();
    straight.run.iterations = 8;
    straight.run.eval_every = 4;
    straight.run.checkpoint_every = 4;
    straight.run.measure_drift = 3;
    train(&straight, false, no_stop()).unwrap();

    // The same run, paused after 4 iterations (as a Ctrl-C or a job's time limit would), then
    // resumed in a new session.
    let mut first = straight.clone();
    first.run.name = "resumed".into();
    first.run.stop_after = 4;
    let out = train(&first, false, no_stop()).unwrap();
    assert!(out.interrupted && out.iterations == 4);
    let mut second = first.clone();
    second.run.stop_after = 0;
    let out = train(&second, true, no_stop()).unwrap();
    assert_eq!(out.iterations, 8);
    assert!(out.untrained.is_none());

    let a = comparable(read_records(&dir.path().join("straight/metrics.jsonl")).unwrap());
    let b = comparable(read_records(&dir.path().join("resumed/metrics.jsonl")).unwrap());
    assert_eq!(a, b);

    let ca = Checkpoint::load(
        &dir.path().join("straight").join(checkpoint::LAST),
        &Device::Cpu,
    )
    .unwrap();
    let cb = Checkpoint::load(
        &dir.path().join("resumed").join(checkpoint::LAST),
        &Device::Cpu,
    )
    .unwrap();
    let mut keys: Vec<_> = ca.tensors.keys().collect();
    keys.sort();
    let mut kb: Vec<_> = cb.tensors.keys().collect();
    kb.sort();
    assert_eq!(keys, kb);
    for k in keys {
        assert_eq!(flat(&ca.tensors[k]), flat(&cb.tensors[k]), "{k}");
    }
    if loss == "proxy-anchor" {
        let p = &ca.tensors["lossparams.loss.0"];
        assert_eq!(p.dims(), &[12, 16], "12 training classes × d");
    }
    let ea = std::fs::read(dir.path().join("straight/embeddings.safetensors")).unwrap();
    let eb = std::fs::read(dir.path().join("resumed/embeddings.safetensors")).unwrap();
    assert_eq!(ea, eb);
}

#[test]
fn ctrl_c_saves_a_checkpoint_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(dir.path(), "interrupted");
    cfg.run.iterations = 4;
    cfg.run.eval_untrained = false;
    let out = train(&cfg, false, Arc::new(AtomicBool::new(true))).unwrap();
    assert!(out.interrupted);
    assert!(out.trained.is_none());
    let ck = Checkpoint::load(&out.dir.join(checkpoint::LAST), &Device::Cpu).unwrap();
    assert_eq!(ck.metadata["iteration"], out.iterations.to_string());
    let out = train(&cfg, true, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(out.iterations, 4);
    assert!(out.trained.is_some());
}

#[test]
fn resume_without_checkpoint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = train_common::tiny_config(dir.path(), "never-ran");
    let err = train(&cfg, true, Arc::new(AtomicBool::new(false))).unwrap_err();
    assert!(err.to_string().contains("no checkpoint"), "{err}");
}

#[test]
fn non_finite_loss_stops_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(dir.path(), "diverge");
    cfg.run.iterations = 6;
    cfg.run.checkpoint_every = 1;
    cfg.run.eval_every = 0;
    cfg.run.eval_untrained = false;
    cfg.optim.warmup = 0;
    cfg.optim.lr_backbone = 1e30;
    cfg.optim.lr_head = 1e30;
    let err = train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap_err();
    let xbn_train::TrainError::NonFiniteLoss { iteration, .. } = err else {
        panic!("expected a non-finite loss, got {err}");
    };
    assert!(iteration >= 2, "the first step starts from finite weights");
    let ck = Checkpoint::load(
        &dir.path().join("diverge").join(checkpoint::LAST),
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(ck.metadata["iteration"], (iteration - 1).to_string());
}
