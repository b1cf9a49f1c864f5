//! The stream experiment that first set `DEFAULT_DRIFT_RATE` (docs/method.md, "Choosing the drift
//! rate"; the default is now chosen from training runs, docs/reproduction.md).
//!
//! Synthetic streams whose true per-dimension moments follow a random walk with relative step
//! variance `δ` per iteration (`μ += sqrt(δ·v)·ξ`, `log v += sqrt(δ)·ξ'`), observed through
//! batches of `b` Gaussian rows. For each drift rate `q` it prints the mean squared error of the
//! filtered `(μ, v)` relative to that of the raw batch moments (`< 1` means the filter helps).
//!
//! `cargo run -p xbn-core --example drift_rate_sweep`

use candle_core::{DType, Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use xbn_core::{AdaptiveCrossBatchNorm, AxbnConfig, MomentMatcher};

const D: usize = 64;
const STEPS: usize = 400;
const BURN_IN: usize = 50;

fn run(delta: f64, b: usize, q: f64, seed: u64) -> (f64, f64) {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let z = Normal::new(0.0, 1.0).expect("normal");
    let dev = Device::Cpu;
    let mut mu = vec![0.0f64; D];
    let mut v = vec![1.0f64; D];
    let config = AxbnConfig {
        drift_rate: q,
        ..AxbnConfig::default()
    };
    let mut a = AdaptiveCrossBatchNorm::new(config).expect("config");
    let empty = Tensor::zeros((0, D), DType::F64, &dev).expect("empty");
    let (mut filt, mut raw) = ([0.0; 2], [0.0; 2]);
    for t in 0..STEPS {
        for k in 0..D {
            mu[k] += (delta * v[k]).sqrt() * z.sample(&mut r);
            v[k] *= (delta.sqrt() * z.sample(&mut r)).exp();
        }
        let rows: Vec<f64> = (0..b)
            .flat_map(|_| {
                (0..D)
                    .map(|k| mu[k] + v[k].sqrt() * z.sample(&mut r))
                    .collect::<Vec<_>>()
            })
            .collect();
        let batch = Tensor::from_vec(rows.clone(), (b, D), &dev).expect("batch");
        a.adapt(&empty, &batch).expect("adapt");
        if t < BURN_IN {
            continue;
        }
        let s = a.state().expect("state");
        let fm = s.mean.to_vec1::<f64>().expect("mean");
        let fv = s.var.to_vec1::<f64>().expect("var");
        for k in 0..D {
            let col: Vec<f64> = (0..b).map(|i| rows[i * D + k]).collect();
            let m = col.iter().sum::<f64>() / b as f64;
            let s2 = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (b as f64 - 1.0);
            filt[0] += (fm[k] - mu[k]).powi(2) / v[k];
            filt[1] += (fv[k] - v[k]).powi(2) / (v[k] * v[k]);
            raw[0] += (m - mu[k]).powi(2) / v[k];
            raw[1] += (s2 - v[k]).powi(2) / (v[k] * v[k]);
        }
    }
    (filt[0] / raw[0], filt[1] / raw[1])
}

fn main() {
    let qs = [1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0];
    let deltas = [1e-5, 1e-4, 1e-3, 1e-2];
    println!("MSE(filtered)/MSE(raw batch) for mean | variance; rows: δ, b; columns: q");
    print!("| δ | b |");
    qs.iter().for_each(|q| print!(" q={q} |"));
    println!();
    println!("|---|---|{}", "---|".repeat(qs.len()));
    let mut worst = vec![0.0f64; qs.len()];
    for &delta in &deltas {
        for b in [16, 64, 128] {
            print!("| {delta} | {b} |");
            for (i, &q) in qs.iter().enumerate() {
                let (rm, rv) = run(delta, b, q, 7);
                worst[i] = worst[i].max(rm).max(rv);
                print!(" {rm:.2} / {rv:.2} |");
            }
            println!();
        }
    }
    print!("| worst | |");
    worst.iter().for_each(|w| print!(" {w:.2} |"));
    println!();
}
