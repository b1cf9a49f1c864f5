//! XBN and adaptive-XBN update time on the CPU, beside one `(b × d)·(d × m)` similarity matmul
//! at the same size. Run with `crates/xbn-core/benches/run_side_by_side.sh` to get PyTorch's
//! numbers in the same run.

use std::hint::black_box;

use candle_core::{Device, Tensor};
use criterion::{BenchmarkId, Criterion, criterion_main};
use xbn_core::{AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, MomentMatcher, XbnConfig};

const SIZES: [(usize, usize, usize); 2] = [(8192, 128, 64), (65536, 512, 128)];

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let mut group = c.benchmark_group("adapt");
    group.sample_size(10);
    for (m, d, b) in SIZES {
        let id = format!("m{m}_d{d}_b{b}");
        let memory = Tensor::randn(0f32, 1.0, (m, d), &dev).expect("memory");
        let batch = Tensor::randn(0.1f32, 1.2, (b, d), &dev).expect("batch");
        let mut xbn = CrossBatchNorm::new(XbnConfig::default()).expect("xbn");
        group.bench_function(BenchmarkId::new("xbn", &id), |bench| {
            bench.iter(|| black_box(xbn.adapt(&memory, &batch).expect("adapt")))
        });
        let mut axbn = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).expect("axbn");
        axbn.adapt(&memory, &batch).expect("init");
        group.bench_function(BenchmarkId::new("axbn", &id), |bench| {
            bench.iter(|| black_box(axbn.adapt(&memory, &batch).expect("adapt")))
        });
        let memory_t = memory.t().expect("transpose");
        group.bench_function(BenchmarkId::new("matmul", &id), |bench| {
            bench.iter(|| black_box(batch.matmul(&memory_t).expect("matmul")))
        });
    }
    group.finish();
}

// criterion's macro defines an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::bench;
    criterion::criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
