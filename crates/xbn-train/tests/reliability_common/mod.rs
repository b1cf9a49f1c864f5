//! Shared helpers of the reliability tests that run the `xbn-train` binary: a tiny synthetic
//! training run on the command line.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The `--set` overrides of a tiny run (a few milliseconds per iteration on a CPU).
pub const TINY: &[&str] = &[
    "data.image_size=16",
    "data.classes_per_batch=4",
    "data.images_per_class=2",
    "data.workers=1",
    "data.synthetic.classes=16",
    "model.channels=[8]",
    "model.embedding_dim=8",
    "memory.size=16",
    "memory.t_start=1",
    "optim.warmup=1",
    "run.progress=false",
    "run.eval_untrained=false",
    "run.log_every=1",
    "eval.k=[1]",
];

/// `xbn-train train --name <name> --output-dir <dir> --iterations <n>` with [`TINY`] and
/// `extra` overrides, logging at INFO level without colour.
pub fn tiny_train(dir: &Path, name: &str, iterations: usize, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xbn-train"));
    cmd.arg("train")
        .arg("--name")
        .arg(name)
        .arg("--output-dir")
        .arg(dir)
        .arg("--iterations")
        .arg(iterations.to_string());
    for s in TINY.iter().chain(extra) {
        cmd.args(["--set", s]);
    }
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1");
    cmd
}

/// `xbn-train train --resume <run>` with `extra` overrides.
pub fn resume(run: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xbn-train"));
    cmd.arg("train").arg("--resume").arg(run);
    for s in extra {
        cmd.args(["--set", s]);
    }
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1");
    cmd
}

/// Waits until `cond` holds, checking every 20 ms; panics with `what` after `limit` checks
/// (a safety net against a hung test, not a timing assertion).
pub fn wait_until(what: &str, limit: usize, mut cond: impl FnMut() -> bool) {
    for _ in 0..limit {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("gave up waiting for {what}");
}
