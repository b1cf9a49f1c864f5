//! Independent float64 reference formulas (plain loops over `Vec<f64>`), written from the spec
//! without calling the code under test, and a seeded data generator.
#![allow(dead_code)]

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

pub type Rows = Vec<Vec<f64>>;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n × d` Gaussian rows with per-dimension means `mu` and standard deviations `sd`.
pub fn gaussian(r: &mut ChaCha8Rng, n: usize, mu: &[f64], sd: &[f64]) -> Rows {
    let z = Normal::new(0.0, 1.0).unwrap();
    (0..n)
        .map(|_| (0..mu.len()).map(|k| mu[k] + sd[k] * z.sample(r)).collect())
        .collect()
}

pub fn tensor(rows: &Rows) -> Tensor {
    let (n, d) = (rows.len(), rows.first().map_or(0, |r| r.len()));
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (n, d), &xbn_core::test_util::test_device()).unwrap()
}

pub fn rows_of(t: &Tensor) -> Rows {
    t.to_dtype(candle_core::DType::F64)
        .unwrap()
        .to_device(&Device::Cpu)
        .unwrap()
        .to_vec2::<f64>()
        .unwrap()
}

pub fn vec_of(t: &Tensor) -> Vec<f64> {
    t.to_dtype(candle_core::DType::F64)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

/// (mean, biased variance, unbiased variance) per column.
pub fn ref_moments(x: &Rows) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len() as f64;
    let d = x[0].len();
    let mean: Vec<f64> = (0..d)
        .map(|k| x.iter().map(|r| r[k]).sum::<f64>() / n)
        .collect();
    let ss: Vec<f64> = (0..d)
        .map(|k| x.iter().map(|r| (r[k] - mean[k]).powi(2)).sum::<f64>())
        .collect();
    let var = ss.iter().map(|s| s / n).collect();
    let unb = ss
        .iter()
        .map(|s| if n > 1.0 { s / (n - 1.0) } else { 0.0 })
        .collect();
    (mean, var, unb)
}

/// The spec's (XBN) equation, then optional row L2 normalization.
pub fn ref_xbn(mem: &Rows, tmean: &[f64], tvar: &[f64], eps: f64, renorm: bool) -> Rows {
    let (mm, mv, _) = ref_moments(mem);
    mem.iter()
        .map(|r| {
            let out: Vec<f64> = (0..r.len())
                .map(|k| (r[k] - mm[k]) / (mv[k] + eps).sqrt() * (tvar[k] + eps).sqrt() + tmean[k])
                .collect();
            if renorm {
                let n = out.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                out.iter().map(|v| v / n).collect()
            } else {
                out
            }
        })
        .collect()
}

/// The spec's Kalman filter for one dimension's (μ, v), scalar by scalar.
#[derive(Debug, Clone, Default)]
pub struct RefFilter {
    pub mu: Vec<f64>,
    pub v: Vec<f64>,
    pub p_mu: Vec<f64>,
    pub p_v: Vec<f64>,
    pub init: bool,
    /// Observation noise from the predicted variance v⁻ (default) or the batch's s² (spec text).
    pub noise_from_batch: bool,
}

impl RefFilter {
    pub fn observe(&mut self, batch: &Rows, q: f64) {
        let b = batch.len() as f64;
        let (mean, _, s2) = ref_moments(batch);
        let d = mean.len();
        if !self.init {
            if batch.len() < 2 {
                return;
            }
            self.mu = mean;
            self.p_mu = s2.iter().map(|s| s / b).collect();
            self.p_v = s2.iter().map(|s| 2.0 * s * s / (b - 1.0)).collect();
            self.v = s2;
            self.init = true;
            return;
        }
        for k in 0..d {
            let (qm, qv) = (q * self.v[k], q * self.v[k] * self.v[k]);
            let gain = |p: f64, r: f64| if p + r > 0.0 { p / (p + r) } else { 1.0 };
            let pm = self.p_mu[k] + qm;
            let s2n = if self.noise_from_batch {
                s2[k]
            } else {
                self.v[k]
            };
            let rm = if batch.len() >= 2 { s2n / b } else { self.v[k] };
            let km = gain(pm, rm);
            self.mu[k] += km * (mean[k] - self.mu[k]);
            self.p_mu[k] = (1.0 - km) * pm;
            let pv = self.p_v[k] + qv;
            if batch.len() >= 2 {
                let kv = gain(pv, 2.0 * s2n * s2n / (b - 1.0));
                self.v[k] += kv * (s2[k] - self.v[k]);
                self.p_v[k] = (1.0 - kv) * pv;
            } else {
                self.p_v[k] = pv;
            }
        }
    }
}

pub fn max_rel_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1e-12))
        .fold(0.0, f64::max)
}

pub fn max_abs_err(a: &Rows, b: &Rows) -> f64 {
    assert_eq!(
        (a.len(), a.first().map(|r| r.len())),
        (b.len(), b.first().map(|r| r.len()))
    );
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
