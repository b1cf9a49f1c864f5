//! Benchmark driver (not a test): leave-one-out Recall@K of an `.npy` embedding file.
//!
//! ```text
//! cargo run --release -p xbn-eval --example eval_bench -- EMB.npy [K,K,…] [BUDGET_MIB] [plain]
//! ```
//! Labels are read from `EMB_labels.npy`. Prints one JSON line: the time of the evaluation
//! itself (loading excluded) and the report.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use candle_core::{Device, Tensor};
use xbn_eval::{EvalOptions, Protocol, evaluate, load_embeddings};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .context("usage: eval_bench EMB.npy [K,…] [MiB]")?,
    );
    let ks: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1,10,100,1000".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let budget_mib: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1024);
    let symmetric = args.next().as_deref() != Some("plain");
    let set = load_embeddings(&path, None, &Device::Cpu)?;
    let labels = Tensor::new(set.labels.as_slice(), &Device::Cpu)?;
    let options = EvalOptions {
        memory_budget: budget_mib << 20,
        symmetric,
        ..EvalOptions::default()
    };
    let start = Instant::now();
    let report = evaluate(
        &set.embeddings,
        &labels,
        None,
        Protocol::LeaveOneOut,
        &ks,
        &options,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"tool\":\"xbn-eval\",\"seconds\":{seconds:.3},\"report\":{}}}",
        report.to_json()
    );
    eprintln!("{report}");
    Ok(())
}
