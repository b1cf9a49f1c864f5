//! `xbn-train`: the training binary (see `docs/training.md`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use xbn_train::cli::{Cli, Command, SweepArgs, TrainArgs};
use xbn_train::commands::{data_check::run_data_check, embed::run_embed, eval::run_eval};
use xbn_train::sweep::{SweepOptions, run_sweep};
use xbn_train::train::{one_line, train};

/// mimalloc keeps freed pages for reuse; glibc's allocator returns the large activation and
/// gradient buffers of every step to the kernel and faults them back in, zeroed, on the next
/// (see `xbn_nn::runtime`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // SAFETY: first statement of main, before any other thread exists.
    unsafe { xbn_nn::runtime::prefer_rayon_for_cpu_work() };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => run_train(&cli.train),
        Some(Command::Train(args)) => run_train(&args),
        Some(Command::Eval(args)) => {
            println!("{}", run_eval(&args)?);
            Ok(())
        }
        Some(Command::DataCheck(args)) => {
            let (json, ok) = run_data_check(&args)?;
            println!("{json}");
            if !ok {
                std::process::exit(2);
            }
            Ok(())
        }
        Some(Command::Embed(args)) => {
            let (path, n) = run_embed(&args)?;
            println!("{n} embeddings written to {}", path.display());
            Ok(())
        }
        Some(Command::Sweep(args)) => run_sweep_command(&args),
        Some(Command::Report(args)) => {
            let path = xbn_train::commands::report::run_report(&args)?;
            println!("report written to {}", path.display());
            Ok(())
        }
        Some(Command::Gallery(args)) => {
            let n = xbn_train::commands::report::run_gallery(&args)?;
            println!("{n} queries drawn to {}", args.output.display());
            Ok(())
        }
        Some(Command::Index(args)) => {
            let outcome = xbn_train::commands::index::run_index(&args)?;
            for s in &outcome.skipped {
                eprintln!("skipped {}: {}", s.input, s.reason);
            }
            println!("{outcome}");
            Ok(())
        }
        Some(Command::Search(args)) => {
            let results = xbn_train::commands::search::run_search(&args)?;
            for s in &results.skipped {
                eprintln!("skipped query {}: {}", s.input, s.reason);
            }
            if args.json {
                println!("{}", results.to_json());
            } else {
                print!("{results}");
            }
            Ok(())
        }
    }
}

/// Colour the logs only when stderr is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>): logs sent to a pipe or a file stay plain text.
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A flag raised by the first Ctrl-C (the run saves a checkpoint and stops); a second one
/// aborts at once.
fn stop_on_ctrl_c() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nCtrl-C: saving a checkpoint, then stopping (press again to abort)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(stop)
}

fn run_sweep_command(args: &SweepArgs) -> anyhow::Result<()> {
    let options = SweepOptions {
        progress: !args.no_progress,
        dry_run: args.dry_run,
    };
    let outcome = run_sweep(&args.grid, &options, stop_on_ctrl_c()?)?;
    if args.dry_run {
        for name in &outcome.skipped {
            println!("finished  {name}");
        }
        for name in &outcome.ran {
            println!("to run    {name}");
        }
        return Ok(());
    }
    println!(
        "{}: {} cells run, {} already finished",
        outcome.dir.display(),
        outcome.ran.len(),
        outcome.skipped.len()
    );
    if outcome.interrupted {
        println!("stopped; run the same command again to continue");
    } else {
        println!("summary: {}", outcome.dir.join("summary.md").display());
    }
    Ok(())
}

fn run_train(args: &TrainArgs) -> anyhow::Result<()> {
    let cfg = args.resolve_config()?;
    let outcome = train(&cfg, args.resume.is_some(), stop_on_ctrl_c()?)?;
    if let Some(u) = &outcome.untrained {
        println!("untrained model: {}", one_line(u));
    }
    if let Some(t) = &outcome.trained {
        println!(
            "trained model ({} iterations): {}",
            outcome.iterations,
            one_line(t)
        );
    }
    if let (Some(u), Some(t)) = (&outcome.untrained, &outcome.trained) {
        let (r0, r1) = (u.report.recall.first(), t.report.recall.first());
        if let (Some(r0), Some(r1)) = (r0, r1) {
            println!(
                "Recall@1: {r0:.4} untrained -> {r1:.4} trained ({:.1}x)",
                r1 / r0.max(1e-12)
            );
        }
    }
    if outcome.interrupted {
        println!(
            "interrupted at iteration {}; resume with: xbn-train --resume {}",
            outcome.iterations,
            outcome.dir.display()
        );
    } else {
        println!("outputs in {}", outcome.dir.display());
    }
    Ok(())
}
