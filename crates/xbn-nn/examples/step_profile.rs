//! Where a training step's time goes: forward, backward and optimizer update of a backbone,
//! timed separately (a measurement tool, not a benchmark; see `benches/train_step.rs`):
//!
//! ```text
//! cargo run --release -p xbn-nn --example step_profile -- [cnn32|cnn48|r50b16|r50b64] [reps]
//! ```

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use xbn_nn::model::{Backbone, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig};
use xbn_nn::optim::{AdamW, AdamWConfig, Optimizer, ParamGroup};

/// mimalloc keeps freed pages for reuse; glibc's allocator returns the large activation and
/// gradient buffers of every step to the kernel and faults them back in, zeroed, on the next
/// (see `xbn_nn::runtime`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: first statement of main, no other thread exists.
    unsafe { xbn_nn::runtime::prefer_rayon_for_cpu_work() };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workload = args.first().map(String::as_str).unwrap_or("cnn32");
    let reps: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let dev = Device::Cpu;
    let (net, batch, size): (Box<dyn Backbone>, usize, usize) = match workload {
        "cnn32" | "cnn48" => {
            let size = if workload == "cnn32" { 32 } else { 48 };
            let cfg = SmallCnnConfig {
                input_size: size,
                ..SmallCnnConfig::default()
            };
            (Box::new(SmallCnn::new(&cfg, DType::F32, &dev)?), 64, size)
        }
        "r50b16" | "r50b64" => {
            let batch = if workload == "r50b16" { 16 } else { 64 };
            let net = ResNet::new(&ResNetConfig::resnet50(128), DType::F32, &dev)?;
            (Box::new(net), batch, 224)
        }
        other => return Err(format!("unknown workload {other}").into()),
    };
    let groups = net.param_groups();
    let mut opt = AdamW::new(
        vec![
            ParamGroup::new("backbone", 1e-3, 1e-4, groups.backbone),
            ParamGroup::new("head", 1e-2, 1e-4, groups.head),
        ],
        AdamWConfig::default(),
    )?;
    let images = Tensor::randn(0f32, 1.0, (batch, 3, size, size), &dev)?;
    let mut rows = Vec::new();
    for rep in 0..=reps {
        let t0 = Instant::now();
        let z = net.forward(&images.clone().into(), true)?;
        let loss = z.matmul(&z.t()?)?.sum_all()?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        let t2 = Instant::now();
        opt.step(&grads)?;
        let t3 = Instant::now();
        drop((grads, loss, z));
        let t4 = Instant::now();
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        if rep > 0 {
            rows.push([ms(t0, t1), ms(t1, t2), ms(t2, t3), ms(t3, t4), ms(t0, t4)]);
        }
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = rows.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{workload}: forward {:.1} ms, backward {:.1} ms, optimizer {:.1} ms, free {:.1} ms, \
         step {:.1} ms (medians of {reps})",
        median(0),
        median(1),
        median(2),
        median(3),
        median(4)
    );
    Ok(())
}
