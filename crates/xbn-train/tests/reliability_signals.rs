//! Real signals on the real binary. SIGINT mid-run: exit 0 with a checkpoint, and resuming
//! ends exactly where an uninterrupted run ends. SIGKILL at seeded random moments, many times
//! (checkpoint writes included): the folder always holds a loadable checkpoint (the last one
//! completed), and resuming completes, again exactly as an uninterrupted run.
//!
//! `XBN_KILL_ROUNDS` sets the number of kills (default 60, about 15 s).

#![cfg(unix)]

mod reliability_common;

use std::path::Path;
use std::process::{Child, Output, Stdio};

use candle_core::Device;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::{Rng, SeedableRng};
use reliability_common::{resume, tiny_train, wait_until};
use xbn_train::checkpoint::{LAST, rotate};
use xbn_train::outputs::metrics::{MetricsRecord, read_records};

/// Overrides of the runs below: a checkpoint every iteration, no evaluation before the end.
const RUN: &[&str] = &[
    "run.checkpoint_every=1",
    "run.eval_every=0",
    "run.measure_drift=0",
];

fn signal(child: &Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
}

fn comparable(path: &Path) -> Vec<MetricsRecord> {
    let mut recs = read_records(path).unwrap();
    for r in &mut recs {
        r.images_per_s = 0.0; // wall-clock dependent
    }
    recs
}

/// The last iteration recorded in a run's `metrics.jsonl` (0 when none).
fn iterations_logged(run: &Path) -> usize {
    read_records(&run.join("metrics.jsonl"))
        .ok()
        .and_then(|r| r.last().map(|r| r.iteration))
        .unwrap_or(0)
}

fn check(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "exit {:?}: {text}", out.status);
    text
}

/// The outputs of an uninterrupted run must equal those of the interrupted one.
fn assert_same_results(straight: &Path, resumed: &Path) {
    assert_eq!(
        comparable(&straight.join("metrics.jsonl")),
        comparable(&resumed.join("metrics.jsonl"))
    );
    let a = std::fs::read(straight.join("embeddings.safetensors")).unwrap();
    let b = std::fs::read(resumed.join("embeddings.safetensors")).unwrap();
    assert!(a == b, "the test embeddings differ");
}

#[test]
fn sigint_mid_run_exits_0_with_a_checkpoint_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let iterations = 100;
    check(
        &tiny_train(dir.path(), "straight", iterations, RUN)
            .output()
            .unwrap(),
    );

    let run = dir.path().join("interrupted");
    let child = tiny_train(dir.path(), "interrupted", iterations, RUN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("a few iterations", 3000, || iterations_logged(&run) >= 2);
    // Stop the process, queue the SIGINT, let it go on: the signal lands mid-run for sure.
    signal(&child, Signal::SIGSTOP);
    assert!(iterations_logged(&run) < iterations);
    signal(&child, Signal::SIGINT);
    signal(&child, Signal::SIGCONT);
    let out = child.wait_with_output().unwrap();
    let text = check(&out);
    assert!(text.contains("interrupted at iteration"), "{text}");
    let loaded = rotate::load_last_or_previous(&run, &Device::Cpu).unwrap();
    assert_eq!(loaded.path, run.join(LAST));
    let stopped: usize = loaded.checkpoint.metadata["iteration"].parse().unwrap();
    assert!(stopped >= 2 && stopped < iterations, "stopped at {stopped}");
    assert!(!run.join("embeddings.safetensors").exists());

    let text = check(&resume(&run, &[]).output().unwrap());
    assert!(
        text.contains(&format!("{iterations} iterations from {stopped}")),
        "{text}"
    );
    assert_same_results(&dir.path().join("straight"), &run);
}

#[test]
fn sigkill_at_random_moments_always_leaves_a_checkpoint_that_resumes() {
    let rounds: usize = std::env::var("XBN_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let iterations = 80;
    check(
        &tiny_train(dir.path(), "straight", iterations, RUN)
            .output()
            .unwrap(),
    );

    let run = dir.path().join("killed");
    let fresh = || {
        tiny_train(
            dir.path(),
            "killed",
            iterations,
            &[RUN, &["run.overwrite=true"]].concat(),
        )
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let (mut during_write, mut with_checkpoint, mut finished) = (0, 0, 0);
    let mut last_seen = 0usize;
    let mut start_over = true;
    for round in 0..rounds {
        let mut cmd = if start_over || !rotate::exists(&run) {
            last_seen = 0;
            fresh()
        } else {
            resume(&run, &[])
        };
        start_over = false;
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Startup takes about 0.15 s, then about 8 ms per iteration (with its checkpoint).
        let delay = rng.random_range(0..500u64);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        signal(&child, Signal::SIGKILL);
        let status = child.wait().unwrap();
        if status.success() {
            // Finished before the kill: start a new run over the same folder.
            finished += 1;
            start_over = true;
            continue;
        }
        if run.join(".checkpoint.safetensors.tmp").exists() {
            during_write += 1;
        }
        if !rotate::exists(&run) {
            continue;
        }
        with_checkpoint += 1;
        let loaded = rotate::load_last_or_previous(&run, &Device::Cpu)
            .unwrap_or_else(|e| panic!("round {round} (killed after {delay} ms): {e}"));
        assert_eq!(
            loaded.fallback, None,
            "round {round}: the last checkpoint was not complete"
        );
        let it: usize = loaded.checkpoint.metadata["iteration"].parse().unwrap();
        // The last complete one: never behind a checkpoint the log says was saved.
        let log = std::fs::read_to_string(run.join("train.log")).unwrap_or_default();
        let logged = log
            .lines()
            .filter_map(|l| l.split("checkpoint at iteration ").nth(1))
            .filter_map(|r| r.split_whitespace().next()?.parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        assert!(
            it >= logged,
            "round {round}: checkpoint {it}, log says {logged}"
        );
        assert!(
            it >= last_seen,
            "round {round}: went back from {last_seen} to {it}"
        );
        last_seen = it;
    }
    eprintln!(
        "{rounds} kills: {with_checkpoint} left a checkpoint, {during_write} landed during a checkpoint write, {finished} runs finished first"
    );
    let out = if rotate::exists(&run) && !start_over {
        resume(&run, &[]).output().unwrap()
    } else {
        fresh().output().unwrap()
    };
    check(&out);
    assert_same_results(&dir.path().join("straight"), &run);
}
