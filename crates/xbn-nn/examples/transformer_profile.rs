//! Where a MiniLM training step's time goes (a measurement tool, not a benchmark; see
//! `benches/train_step.rs`, workload `minilm`): forward + backward of each piece of one encoder
//! layer at batch 64 × 128 tokens, 384 wide, 12 heads, timed alone.
//!
//! ```text
//! cargo run --release -p xbn-nn --example transformer_profile -- [reps]
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use xbn_nn::kernels::{gelu_erf, layer_norm, softmax_last_dim};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Median milliseconds of `f` (forward, `Σ out ⊙ R`, backward) over `reps` runs after one.
fn time(name: &str, reps: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    f()?;
    let mut t = Vec::new();
    for _ in 0..reps {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    let m = t[t.len() / 2];
    println!("{name:<44} {m:>8.1} ms");
    Ok(m)
}

fn backward_of(y: &Tensor) -> Res<()> {
    let r = y.ones_like()?;
    (y * r)?.sum_all()?.backward()?;
    Ok(())
}

fn main() -> Res<()> {
    // SAFETY: first statement of main, no other thread exists.
    unsafe { xbn_nn::runtime::prefer_rayon_for_cpu_work() };
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let dev = Device::Cpu;
    let (rows, d, ff, heads, len) = (64 * 128, 384, 1536, 12, 128);
    let var = |shape: &[usize]| -> Res<Var> {
        Ok(Var::from_tensor(&Tensor::randn(0f32, 0.5, shape, &dev)?)?)
    };
    let x = var(&[rows, d])?;
    let h = var(&[rows, ff])?;
    let w = var(&[d, d])?;
    let w_up = var(&[ff, d])?;
    let gamma = var(&[d])?;
    let beta = var(&[d])?;
    let q = var(&[64, heads, len, d / heads])?;
    let k = var(&[64, heads, len, d / heads])?;
    let s = var(&[64, heads, len, len])?;
    let mut total = 0.0;
    total += 4.0
        * time("linear 384→384 (×4: q, k, v, out)", reps, || {
            backward_of(&x.as_tensor().matmul(&w.as_tensor().t()?)?)
        })?;
    total += 2.0
        * time("linear 384→1536 (×2: up, down)", reps, || {
            backward_of(&x.as_tensor().matmul(&w_up.as_tensor().t()?)?)
        })?;
    total += time("attention scores Q Kᵀ (64×12 heads)", reps, || {
        backward_of(&q.as_tensor().matmul(&k.as_tensor().t()?)?)
    })?;
    total += time("attention context P V", reps, || {
        backward_of(&s.as_tensor().matmul(q.as_tensor())?)
    })?;
    total += time("softmax (fused)", reps, || {
        backward_of(&softmax_last_dim(s.as_tensor())?)
    })?;
    total += time("GELU (fused)", reps, || {
        backward_of(&gelu_erf(h.as_tensor())?)
    })?;
    total += 2.0
        * time("layer norm (fused, ×2)", reps, || {
            backward_of(&layer_norm(
                x.as_tensor(),
                gamma.as_tensor(),
                beta.as_tensor(),
                1e-12,
            )?)
        })?;
    total += 3.0
        * time("head split: transpose + contiguous (×3)", reps, || {
            let y = x
                .as_tensor()
                .reshape((64, len, heads, d / heads))?
                .transpose(1, 2)?
                .contiguous()?;
            backward_of(&y)
        })?;
    println!(
        "{:<44} {total:>8.1} ms (× 6 layers: {:.0} ms)",
        "one layer, sum",
        total * 6.0
    );
    Ok(())
}
