//! `xbn-gpu-bench`: the GPU benchmark suite in one command and one JSON report.
//!
//! ```text
//! xbn-gpu-bench --device cuda --out bench.json        # the issue's sizes
//! xbn-gpu-bench --device cpu --small                  # seconds: checks every code path
//! ```
//! Measures, with warm-up and a device synchronization around every timed region: the XBN and
//! adaptive XBN update of a full memory (m = 65,536, d = 512, b = 128), the XBM contrastive
//! loss forward + backward against it, leave-one-out Recall@{1,10,100,1000} on 60,000 × 512,
//! and a ResNet-50 training step at 224×224 (batches 64 and 128, fp32) with its phases and
//! per-stage forward times. `crates/xbn-train/benches/gpu/torch_peer.py` writes the same
//! report with PyTorch; `compare.py` joins the two. See `docs/gpu.md`.

mod eval;
mod memory;
mod sizes;
mod stages;
mod step;
mod timing;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use serde::Serialize;

use sizes::Sizes;
use timing::{Measurement, Reps};

#[derive(Parser)]
#[command(
    name = "xbn-gpu-bench",
    about = "GPU benchmark suite of xbn (JSON report)"
)]
struct Args {
    /// Device: `cpu`, `cuda[:N]` or `metal[:N]`.
    #[arg(long, default_value = "cuda")]
    device: String,
    /// Tiny sizes (a CPU smoke run of every code path).
    #[arg(long)]
    small: bool,
    /// Benchmarks to run, comma-separated: memory, loss, eval, step, stages.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "memory,loss,eval,step,stages"
    )]
    only: Vec<String>,
    /// Untimed warm-up runs per measurement.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed runs per measurement (the median is reported).
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Timed runs of the (slow) evaluation.
    #[arg(long, default_value_t = 3)]
    eval_iters: usize,
    /// Override the training-step batch sizes, e.g. `64,128`.
    #[arg(long, value_delimiter = ',')]
    batches: Option<Vec<usize>>,
    /// Write the JSON report here (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report {
    tool: &'static str,
    device: String,
    sizes: Sizes,
    recall: Vec<f64>,
    results: Vec<Measurement>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let device = xbn_train::device::parse_device(&args.device)?;
    let mut sizes = if args.small {
        Sizes::small()
    } else {
        Sizes::full()
    };
    if let Some(b) = args.batches.clone() {
        sizes.step_batches = b;
    }
    anyhow::ensure!(
        args.iters >= 1 && args.eval_iters >= 1,
        "--iters must be ≥ 1"
    );
    let reps = Reps {
        warmup: args.warmup,
        iters: args.iters,
    };
    let wants = |name: &str| args.only.iter().any(|o| o == name);
    let mut results = Vec::new();
    let mut recall = Vec::new();
    let log =
        |m: &Measurement| eprintln!("{:<40} {:>10.3} ms  ({})", m.name, m.median_ms, m.params);
    if wants("memory") {
        for m in memory::bench_updates(&sizes, &device, reps).context("XBN/AXBN update")? {
            log(&m);
            results.push(m);
        }
    }
    if wants("loss") {
        let m = memory::bench_xbm_loss(&sizes, &device, reps).context("XBM loss")?;
        log(&m);
        results.push(m);
    }
    if wants("eval") {
        let eval_reps = Reps {
            warmup: 1,
            iters: args.eval_iters,
        };
        let (m, r) = eval::bench_recall(&sizes, &device, eval_reps).context("evaluation")?;
        log(&m);
        results.push(m);
        recall = r;
    }
    for &batch in &sizes.step_batches {
        let mut ms = Vec::new();
        if wants("step") {
            ms.extend(step::bench_step(&sizes, batch, &device, reps).context("training step")?);
        }
        if wants("stages") {
            ms.extend(stages::bench_stages(&sizes, batch, &device, reps).context("stages")?);
        }
        for m in ms {
            log(&m);
            results.push(m);
        }
    }
    let report = Report {
        tool: "xbn",
        device: args.device.clone(),
        sizes,
        recall,
        results,
    };
    let json = serde_json::to_string_pretty(&report)?;
    match &args.out {
        Some(path) => std::fs::write(path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}
