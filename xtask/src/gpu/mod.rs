//! `cargo xtask gpu-pack`: build every test binary and the GPU benchmark with CUDA, and pack
//! them (xz-compressed) with a run script into `.gpu/`, for one run on a GPU machine that has no
//! Rust toolchain. See `docs/gpu.md`.

mod artifacts;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use clap::Args;

use artifacts::test_binaries;

/// The run script template; `@BAKED_ROOT@` becomes the workspace root baked into the binaries.
const RUN_TEMPLATE: &str = include_str!("../../gpu/run.sh");

/// The packages whose tests take a device (the xtask itself has no CUDA feature).
const PACKAGES: [&str; 7] = [
    "xbn-core",
    "xbn-memory",
    "xbn-losses",
    "xbn-data",
    "xbn-eval",
    "xbn-nn",
    "xbn-train",
];

/// Installs the link-time cuDNN library into the CUDA wheel prefix (after the toolkit).
const CUDNN_SCRIPT: &str = "xtask/gpu/install-cudnn.sh";

/// Options of `cargo xtask gpu-pack`.
#[derive(Args, Debug)]
pub struct GpuPackArgs {
    /// The CUDA build script (installs the toolkit wheels, prints the build environment).
    #[arg(long, default_value = "../shared/cuda/build-cuda.sh")]
    cuda_script: PathBuf,
    /// Output folder, relative to the workspace root (ignored by git).
    #[arg(long, default_value = ".gpu")]
    out: PathBuf,
    /// xz dictionary in MiB: larger than one binary, so that the code every test binary
    /// shares is stored once.
    #[arg(long, default_value_t = 192)]
    dict_mib: usize,
    /// xz preset (0–9).
    #[arg(long, default_value_t = 6)]
    preset: u8,
    /// Build the test binaries without cuDNN (`xbn-nn/cudnn`): convolutions then run as
    /// composed candle ops on CUDA, and the binaries do not need libcudnn.so.9.
    #[arg(long)]
    no_cudnn: bool,
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    eprintln!("==> {what}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start: {what}"))?;
    if !status.success() {
        bail!("failed ({status}): {what}");
    }
    Ok(())
}

/// Builds, strips, packs; returns the archive's path.
pub fn gpu_pack(args: &GpuPackArgs, workspace: &Path) -> anyhow::Result<PathBuf> {
    let script = workspace.join(&args.cuda_script);
    if !script.is_file() {
        bail!("CUDA build script not found: {}", script.display());
    }
    let script_s = script.to_string_lossy().into_owned();
    run(
        Command::new("bash")
            .args([
                script_s.as_str(),
                "-p",
                "xbn-train",
                "--bin",
                "xbn-gpu-bench",
            ])
            .current_dir(workspace),
        "CUDA build of xbn-gpu-bench (installs the toolkit wheels once)",
    )?;
    let features = if args.no_cudnn {
        "cuda"
    } else {
        run(
            Command::new("bash")
                .arg(CUDNN_SCRIPT)
                .current_dir(workspace),
            "cuDNN for linking (xtask/gpu/install-cudnn.sh, downloads its wheel once)",
        )?;
        "cuda,xbn-nn/cudnn"
    };
    let mut test = Command::new("bash");
    test.arg("-c")
        .arg(concat!(
            "source <(bash \"$0\" --print-env) && exec cargo test --release ",
            "--target-dir target/cuda --no-run --message-format=json \"$@\""
        ))
        .arg(&script_s)
        .args(["--features", features]);
    for p in PACKAGES {
        test.args(["-p", p]);
    }
    eprintln!(
        "==> CUDA build (--features {features}) of the test binaries of {}",
        PACKAGES.join(", ")
    );
    let output = test
        .current_dir(workspace)
        .stderr(Stdio::inherit())
        .output()
        .context("could not start cargo test")?;
    if !output.status.success() {
        bail!("cargo test --no-run failed ({})", output.status);
    }
    let binaries = test_binaries(&String::from_utf8_lossy(&output.stdout), workspace)?;
    if binaries.is_empty() {
        bail!("cargo reported no test executables");
    }
    let out = workspace.join(&args.out);
    let stage = out.join("stage");
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("removing {}", stage.display()))?;
    }
    fs::create_dir_all(stage.join("bin"))?;
    let bench = workspace.join("target/cuda/release/xbn-gpu-bench");
    let mut manifest = String::new();
    for b in &binaries {
        fs::copy(&b.executable, stage.join("bin").join(&b.packed_name))
            .with_context(|| format!("copying {}", b.executable.display()))?;
        manifest += &format!("{}\t{}\n", b.packed_name, b.package_dir.display());
    }
    fs::copy(&bench, stage.join("bin/xbn-gpu-bench"))
        .with_context(|| format!("copying {}", bench.display()))?;
    fs::write(stage.join("manifest.tsv"), &manifest)?;
    fs::write(out.join("manifest.tsv"), &manifest)?;
    // Debug line tables are most of a binary's size; panics still print their messages.
    let _ = Command::new("sh")
        .arg("-c")
        .arg("strip --strip-debug bin/* 2>/dev/null")
        .current_dir(&stage)
        .status();
    let archive = out.join("bins.tar.xz");
    let pipeline = format!(
        "tar -C stage -cf - . | xz -T1 --lzma2=preset={},dict={}MiB > bins.tar.xz.part && mv bins.tar.xz.part bins.tar.xz",
        args.preset, args.dict_mib
    );
    run(
        Command::new("sh")
            .arg("-c")
            .arg(&pipeline)
            .current_dir(&out),
        &format!(
            "packing {} test binaries + xbn-gpu-bench (xz)",
            binaries.len()
        ),
    )?;
    fs::remove_dir_all(&stage)?;
    let run_sh = RUN_TEMPLATE.replace("@BAKED_ROOT@", &workspace.to_string_lossy());
    fs::write(out.join("run.sh"), run_sh)?;
    let mib = fs::metadata(&archive)?.len() as f64 / (1 << 20) as f64;
    eprintln!("{}: {mib:.1} MiB", archive.display());
    if mib > 60.0 {
        eprintln!("warning: over the device tool's 64 MiB carry limit with the rest of .gpu/");
    }
    Ok(archive)
}
