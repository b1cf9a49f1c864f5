//! Project automation: `cargo xtask ci`, `cargo xtask fetch-data …`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use xtask::fetch::{self, FetchError, InstallOptions, Outcome, Progress};

mod gpu;
mod report_check;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "xbn project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Everything CI checks: fmt, clippy (-D warnings), tests, docs, and the report page in
    /// headless Chromium (`report-check`).
    Ci,
    /// Download, verify and unpack a dataset (`--list` shows them all).
    FetchData(FetchDataArgs),
    /// Build the CUDA test binaries and GPU benchmark, pack them into `.gpu/` (docs/gpu.md).
    GpuPack(gpu::GpuPackArgs),
    /// Open the report.html of a tiny run in headless Chromium; fail on a script error, a
    /// broken image or a missing section; save a screenshot.
    ReportCheck(report_check::ReportCheckArgs),
}

/// The workspace's `datasets/` folder (manifests, and the default data root); relative when
/// run from the workspace root, so messages show `datasets/…`.
fn workspace_datasets() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = xtask.parent().map(PathBuf::from).unwrap_or(xtask);
    match std::env::current_dir() {
        Ok(cwd) if cwd == workspace => PathBuf::from("datasets"),
        _ => workspace.join("datasets"),
    }
}

/// The workspace root (the xtask crate's parent folder).
fn workspace_root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().map(PathBuf::from).unwrap_or(xtask)
}

#[derive(Args)]
struct FetchDataArgs {
    /// Dataset name: sop, inshop, deepfashion2, cub, cars, fashion-mnist, wordnet.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// List every dataset, whether it is installed, and its size.
    #[arg(long, conflicts_with = "name")]
    list: bool,
    /// Data root the dataset folder is created in [default: the workspace's datasets/].
    #[arg(long)]
    root: Option<PathBuf>,
    /// Folder of the `<name>.toml` manifests [default: the workspace's datasets/].
    #[arg(long)]
    manifests: Option<PathBuf>,
    /// Base URL tried first for every archive (`<URL>/<archive file name>`).
    #[arg(long)]
    mirror: Option<String>,
    /// Redo a verified install.
    #[arg(long)]
    force: bool,
    /// An archive you downloaded yourself (repeatable); verified, then unpacked.
    #[arg(long = "archive", value_name = "PATH")]
    archives: Vec<PathBuf>,
    /// Keep downloaded archives in `<root>/.downloads/` after installing.
    #[arg(long)]
    keep_archives: bool,
    /// Converted datasets (wordnet): build from this local folder of source files instead of
    /// downloading, e.g. `--from /usr/share/wordnet` (Debian's `wordnet-base`).
    #[arg(long, value_name = "DIR", conflicts_with = "archives")]
    from: Option<PathBuf>,
    /// Converted datasets (wordnet): keep at most N samples per class, the first N in file order.
    #[arg(long, value_name = "N")]
    max_per_class: Option<usize>,
}

fn fetch_data(args: FetchDataArgs) -> anyhow::Result<()> {
    let root = args.root.unwrap_or_else(workspace_datasets);
    let manifests = args.manifests.unwrap_or_else(workspace_datasets);
    if args.list {
        let all = fetch::manifest::load_all(&manifests)?;
        print!("{}", fetch::list::render(&all, &root));
        return Ok(());
    }
    let name = args
        .name
        .context("a dataset name is required (see --list)")?;
    let manifest = fetch::manifest::find(&manifests, &name)?;
    let options = InstallOptions {
        root,
        mirror: args.mirror,
        force: args.force,
        archives: args.archives,
        keep_archives: args.keep_archives,
        download: Default::default(),
        from: args.from,
        convert: fetch::convert::ConvertOptions {
            max_per_class: args.max_per_class,
        },
    };
    match fetch::install(&manifest, &options, &Progress::stderr()) {
        Ok(Outcome::AlreadyInstalled(folder)) => {
            println!(
                "{name}: already installed and verified in {} (use --force to redo)",
                folder.display()
            );
        }
        Ok(
            Outcome::Installed { folder, summary } | Outcome::VerifiedInPlace { folder, summary },
        ) => {
            println!("{name}: installed and verified in {}", folder.display());
            for line in summary.splits {
                println!("  {line}");
            }
        }
        Err(FetchError::ManualStepRequired(message)) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Runs one CI step. CI builds once from a clean clone, so incremental compilation only costs
/// disk: a long-lived checkout held 13 GB of incremental caches beside 32 GB of
/// `target/debug/deps` (2026-11-30), and a CI run that found the disk full failed. It is turned
/// off unless the caller chose otherwise with `CARGO_INCREMENTAL`.
fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("==> cargo {}", args.join(" "));
    let mut command = Command::new(&cargo);
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        command.env("CARGO_INCREMENTAL", "0");
    }
    let status = command
        .args(args)
        .status()
        .with_context(|| format!("could not start `{cargo}`"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace"])?;
    cargo(&["doc", "--workspace", "--no-deps"])?;
    report_check::report_check(
        &report_check::ReportCheckArgs {
            run: None,
            output_dir: None,
            screenshot: None,
            window: "1400x2400".into(),
        },
        &workspace_root(),
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Ci => ci(),
        Cmd::ReportCheck(args) => report_check::report_check(&args, &workspace_root()),
        Cmd::GpuPack(args) => gpu::gpu_pack(&args, &workspace_root()).map(|_| ()),
        Cmd::FetchData(args) => {
            // Plain one-line errors for users (no backtrace), status 1.
            if let Err(e) = fetch_data(args) {
                eprintln!("error: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
