//! Benchmark (not a test): one training step (forward in training mode, loss `Σ Z·Zᵀ`, backward,
//! AdamW update) or one inference-mode embedding pass of the backbones, on the CPU. Its peer is
//! `reference/bench_train_step.py` (PyTorch, same architectures, loss, optimizer and CLI).
//!
//! ```text
//! cargo bench -p xbn-nn --bench train_step -- <workload> [--reps R] [--warmup W] [--threads T] [--json out.json]
//! ```
//!
//! One workload per process, so that a runner can read each workload's peak RSS
//! (`reference/run_train_bench.sh` runs both engines side by side and writes one table).
//! Workloads:
//!
//! | name | what | batch | pixels | default warm-up, reps |
//! |---|---|---:|---:|---:|
//! | `cnn32` | small CNN (default config), training step | 64 | 32 | 5, 20 |
//! | `cnn48` | small CNN, `input_size: 48`, training step | 64 | 48 | 5, 20 |
//! | `r50b16` | ResNet-50 (`d = 128`), training step | 16 | 224 | 1, 3 |
//! | `r50b64` | ResNet-50 (`d = 128`), training step | 64 | 224 | 1, 2 |
//! | `r50embed` | ResNet-50 `embed` (inference mode) | 128 | 224 | 1, 2 |
//! | `cnnembed` | small CNN `embed` (inference mode) | 256 | 32 | 3, 10 |
//! | `minilm` | BERT in all-MiniLM-L6-v2's shape (mean pooling, no head), training step | 64 | 128 tokens | 1, 3 |
//! | `vits16` | ViT-S/16 (`d = 128`, class token), training step | 16 | 224 | 1, 3 |
//!
//! The transformers are randomly initialized (speed does not depend on the weights); `minilm`'s
//! input is 128 random token ids per row, every position a token.
//! `W` untimed warm-up steps, then `R` timed ones: training runs thousands of steps, so the
//! steady state is what counts (the first steps of a process also pay for the allocator's and the
//! thread pools' start). Prints one JSON object (and writes it to `--json`): `name`, `engine`,
//! `params` (trainable parameter count), `batch`, `size`, `threads`, `warmup`, `reps`, `times_ms`, `median_ms`, `min_ms`, `max_ms`, and `images_per_s` (batch / median, for
//! every workload; the headline number of the embed workloads). Threads: `--threads T`, else
//! `RAYON_NUM_THREADS`, else the machine's cores.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use xbn_nn::model::{
    Backbone, BertConfig, BertEncoder, Input, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig,
    Tokens, VisionTransformer, VitConfig, VitFlavor,
};
use xbn_nn::optim::{AdamW, AdamWConfig, Optimizer, ParamGroup};

type BoxError = Box<dyn std::error::Error>;

/// What one workload runs.
#[derive(Clone, Copy)]
enum Model {
    SmallCnn,
    ResNet50,
    MiniLm,
    VitS16,
}

struct Workload {
    name: &'static str,
    model: Model,
    batch: usize,
    size: usize,
    train: bool,
    default_warmup: usize,
    default_reps: usize,
}

const WORKLOADS: [Workload; 8] = [
    Workload {
        name: "cnn32",
        model: Model::SmallCnn,
        batch: 64,
        size: 32,
        train: true,
        default_warmup: 5,
        default_reps: 20,
    },
    Workload {
        name: "cnn48",
        model: Model::SmallCnn,
        batch: 64,
        size: 48,
        train: true,
        default_warmup: 5,
        default_reps: 20,
    },
    Workload {
        name: "r50b16",
        model: Model::ResNet50,
        batch: 16,
        size: 224,
        train: true,
        default_warmup: 1,
        default_reps: 3,
    },
    Workload {
        name: "r50b64",
        model: Model::ResNet50,
        batch: 64,
        size: 224,
        train: true,
        default_warmup: 1,
        default_reps: 2,
    },
    Workload {
        name: "r50embed",
        model: Model::ResNet50,
        batch: 128,
        size: 224,
        train: false,
        default_warmup: 1,
        default_reps: 2,
    },
    Workload {
        name: "cnnembed",
        model: Model::SmallCnn,
        batch: 256,
        size: 32,
        train: false,
        default_warmup: 3,
        default_reps: 10,
    },
    Workload {
        name: "minilm",
        model: Model::MiniLm,
        batch: 64,
        size: 128,
        train: true,
        default_warmup: 1,
        default_reps: 3,
    },
    Workload {
        name: "vits16",
        model: Model::VitS16,
        batch: 16,
        size: 224,
        train: true,
        default_warmup: 1,
        default_reps: 3,
    },
];

struct Args {
    workload: &'static Workload,
    reps: usize,
    warmup: usize,
    threads: Option<usize>,
    json: Option<String>,
}

fn usage() -> String {
    let names: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
    format!(
        "usage: train_step <{}> [--reps R] [--warmup W] [--threads T] [--json out.json]",
        names.join("|")
    )
}

fn parse_args() -> Result<Args, BoxError> {
    let mut workload = None;
    let mut reps = None;
    let mut warmup = None;
    let mut threads = None;
    let mut json = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--reps" => reps = Some(value("--reps")?.parse::<usize>()?),
            "--warmup" => warmup = Some(value("--warmup")?.parse::<usize>()?),
            "--threads" => threads = Some(value("--threads")?.parse::<usize>()?),
            "--json" => json = Some(value("--json")?),
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            name if !name.starts_with('-') && workload.is_none() => {
                workload = Some(
                    WORKLOADS
                        .iter()
                        .find(|w| w.name == name)
                        .ok_or_else(|| format!("unknown workload {name:?}; {}", usage()))?,
                );
            }
            other => return Err(format!("unexpected argument {other:?}; {}", usage()).into()),
        }
    }
    let workload = workload.ok_or_else(usage)?;
    let reps = reps.unwrap_or(workload.default_reps);
    if reps == 0 || threads == Some(0) {
        return Err("--reps and --threads must be positive".into());
    }
    Ok(Args {
        workload,
        reps,
        warmup: warmup.unwrap_or(workload.default_warmup),
        threads,
        json,
    })
}

fn build(model: Model, size: usize, dev: &Device) -> Result<Box<dyn Backbone>, BoxError> {
    Ok(match model {
        Model::SmallCnn => Box::new(SmallCnn::new(
            &SmallCnnConfig {
                input_size: size,
                ..SmallCnnConfig::default()
            },
            DType::F32,
            dev,
        )?),
        Model::ResNet50 => Box::new(ResNet::new(
            &ResNetConfig {
                input_size: size,
                ..ResNetConfig::resnet50(128)
            },
            DType::F32,
            dev,
        )?),
        Model::MiniLm => {
            // all-MiniLM-L6-v2's config.json.
            let mut c = BertConfig::tiny(30522, 384, 6, 12);
            c.encoder.intermediate_size = 1536;
            c.encoder.max_position_embeddings = 512;
            Box::new(BertEncoder::new(&c, DType::F32, dev)?)
        }
        Model::VitS16 => Box::new(VisionTransformer::new(
            &VitConfig::small(VitFlavor::Vit, 16, 128),
            DType::F32,
            dev,
        )?),
    })
}

/// The workload's input: images `(batch, 3, size, size)`, or `size` random token ids per row.
fn input(model: Model, batch: usize, size: usize, dev: &Device) -> Result<Input, BoxError> {
    Ok(match model {
        Model::MiniLm => {
            let ids = Tensor::rand(2f32, 30000.0, (batch, size), dev)?.to_dtype(DType::U32)?;
            let mask = Tensor::ones((batch, size), DType::U32, dev)?;
            Input::Tokens(Tokens { ids, mask })
        }
        _ => Input::Images(Tensor::randn(0f32, 1.0, (batch, 3, size, size), dev)?),
    })
}

/// Wall-clock milliseconds of `warmup + reps` training steps, the warm-up ones dropped.
fn time_train(
    net: &dyn Backbone,
    images: &Input,
    warmup: usize,
    reps: usize,
) -> Result<Vec<f64>, BoxError> {
    let groups = net.param_groups();
    let mut opt = AdamW::new(
        vec![
            ParamGroup::new("backbone", 1e-3, 1e-4, groups.backbone),
            ParamGroup::new("head", 1e-2, 1e-4, groups.head),
        ],
        AdamWConfig::default(),
    )?;
    let mut times = Vec::with_capacity(warmup + reps);
    for _ in 0..warmup + reps {
        let start = Instant::now();
        let z = net.forward(images, true)?;
        let loss = z.matmul(&z.t()?)?.sum_all()?;
        opt.step(&loss.backward()?)?;
        dev_of(images).synchronize()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(times.split_off(warmup))
}

/// Wall-clock milliseconds of `warmup + reps` inference-mode embedding passes, the warm-up ones
/// dropped.
fn time_embed(
    net: &dyn Backbone,
    images: &Input,
    warmup: usize,
    reps: usize,
) -> Result<Vec<f64>, BoxError> {
    let mut times = Vec::with_capacity(warmup + reps);
    for _ in 0..warmup + reps {
        let start = Instant::now();
        let z = net.embed(images)?;
        dev_of(images).synchronize()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        drop(z);
    }
    Ok(times.split_off(warmup))
}

/// mimalloc keeps freed pages for reuse; glibc's allocator returns the large activation and
/// gradient buffers of every step to the kernel and faults them back in, zeroed, on the next
/// (see `xbn_nn::runtime`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let threads = args
        .threads
        .or_else(|| std::env::var("RAYON_NUM_THREADS").ok()?.parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // candle's own matmul reads RAYON_NUM_THREADS; xbn-nn's kernels use the global rayon pool.
    // SAFETY: set before any other thread of this process exists.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    // The same thread setup as the `xbn-train` binary.
    // SAFETY: as above, no other thread exists yet.
    unsafe { xbn_nn::runtime::prefer_rayon_for_cpu_work() };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;

    let w = args.workload;
    let dev = xbn_core::test_util::test_device();
    let net = build(w.model, w.size, &dev)?;
    let groups = net.param_groups();
    let params: usize = groups
        .backbone
        .iter()
        .chain(groups.head.iter())
        .map(|(_, v)| v.as_tensor().elem_count())
        .sum();
    let images = input(w.model, w.batch, w.size, &dev)?;
    let times = if w.train {
        time_train(net.as_ref(), &images, args.warmup, args.reps)?
    } else {
        time_embed(net.as_ref(), &images, args.warmup, args.reps)?
    };

    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    };
    let out = serde_json::json!({
        "name": w.name,
        "engine": "xbn",
        "mode": if w.train { "train_step" } else { "embed" },
        "params": params,
        "batch": w.batch,
        "size": w.size,
        "threads": threads,
        "device": format!("{dev:?}"),
        "warmup": args.warmup,
        "reps": args.reps,
        "times_ms": times,
        "median_ms": median,
        "min_ms": sorted[0],
        "max_ms": sorted[n - 1],
        "images_per_s": w.batch as f64 / (median / 1e3),
    });
    let line = serde_json::to_string(&out)?;
    println!("{line}");
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{line}\n"))?;
    }
    Ok(())
}

fn dev_of(input: &Input) -> Device {
    match input {
        Input::Images(t) => t.device().clone(),
        Input::Tokens(t) => t.ids.device().clone(),
    }
}
