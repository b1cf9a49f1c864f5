//! Benchmark (not a test): forward + backward of `XbmLoss` with XBM's contrastive loss
//! (`ℓ(Z, Z) + ℓ(Z, M)`, memory full, own copies excluded) on the CPU.
//!
//! `cargo bench -p xbn-losses --bench xbm_contrastive -- [reps] [b,m,d ...]`; prints one JSON
//! line per size with the median and all times in milliseconds. Run through
//! `crates/xbn-losses/reference/bench_losses.sh` to get PyTorch and PML beside it.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use xbn_core::Identity;
use xbn_losses::{XbmContrastiveLoss, XbmLoss};
use xbn_memory::{CrossBatchMemory, EmbeddingQueue, MemorySettings};

fn labels(n: usize, classes: u32, per_class: u32, dev: &Device) -> candle_core::Result<Tensor> {
    let v: Vec<u32> = (0..n as u32)
        .map(|i| (i / per_class * 7919 + i % 3) % classes)
        .collect();
    Tensor::from_vec(v, n, dev)
}

fn run(reps: usize, b: usize, m: usize, d: usize) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    let dev = Device::Cpu;
    let mut queue = EmbeddingQueue::new(m, d, DType::F32, &dev)?;
    let fill = Tensor::randn(0f32, 1.0, (m, d), &dev)?;
    queue.enqueue(&fill, &labels(m, 2000, 1, &dev)?, 0)?;
    let loss = Box::new(XbmContrastiveLoss::default());
    let memory = CrossBatchMemory::new(queue, Identity, MemorySettings::default())?;
    let mut xbm = XbmLoss::new(loss, memory, 1.0)?;
    let y = labels(b, 2000, 4, &dev)?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps + 1 {
        let z = Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, d), &dev)?)?;
        let start = Instant::now();
        let terms = xbm.forward(z.as_tensor(), &y)?;
        let grads = terms.total.backward()?;
        let g = grads.get(z.as_tensor()).ok_or("no gradient")?;
        let _ = g.sum_all()?.to_scalar::<f32>()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.remove(0); // warm-up
    Ok(times)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let reps: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(7);
    let mut sizes: Vec<(usize, usize, usize)> = args
        .iter()
        .skip(1)
        .filter_map(|s| {
            let v: Vec<usize> = s.split(',').filter_map(|x| x.parse().ok()).collect();
            (v.len() == 3).then(|| (v[0], v[1], v[2]))
        })
        .collect();
    if sizes.is_empty() {
        sizes = vec![(64, 8192, 128), (128, 65536, 512)];
    }
    for (b, m, d) in sizes {
        let mut t = run(reps, b, m, d)?;
        t.sort_by(f64::total_cmp);
        let median = t[t.len() / 2];
        println!(
            "{{\"impl\": \"xbn (candle)\", \"b\": {b}, \"m\": {m}, \"d\": {d}, \"median_ms\": {median:.2}, \"times_ms\": {t:.2?}}}"
        );
    }
    Ok(())
}
