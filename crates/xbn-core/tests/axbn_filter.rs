//! Adaptive XBN against the scalar reference Kalman recursion, its limits (q → ∞ is XBN,
//! q = 0 is a running mean) and a synthetic stream with known drifting moments.

mod common;

use candle_core::{DType, Tensor};
use common::*;
use xbn_core::{
    AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, MomentMatcher, ObservationNoise, XbnConfig,
};

fn axbn(q: f64, renormalize: bool) -> AdaptiveCrossBatchNorm {
    let config = AxbnConfig {
        eps: 1e-5,
        renormalize,
        drift_rate: q,
        ..AxbnConfig::default()
    };
    AdaptiveCrossBatchNorm::new(config).unwrap()
}

#[test]
fn filter_and_output_match_the_reference_recursion() {
    for noise in [ObservationNoise::Predicted, ObservationNoise::Batch] {
        check_against_reference(noise);
    }
}

fn check_against_reference(noise: ObservationNoise) {
    let mut r = rng(10);
    let d = 5;
    let q = 0.05;
    let config = AxbnConfig {
        observation_noise: noise,
        drift_rate: q,
        ..AxbnConfig::default()
    };
    let mut a = AdaptiveCrossBatchNorm::new(config).unwrap();
    let mut reference = RefFilter {
        noise_from_batch: noise == ObservationNoise::Batch,
        ..RefFilter::default()
    };
    let mut mem = gaussian(&mut r, 40, &vec![0.0; d], &vec![1.0; d]);
    for (t, &b) in [1usize, 8, 8, 1, 16, 2, 1, 8].iter().enumerate() {
        let mu: Vec<f64> = (0..d).map(|k| 0.1 * (t * k) as f64).collect();
        let batch = gaussian(&mut r, b, &mu, &vec![1.0 + 0.2 * t as f64; d]);
        let out = rows_of(&a.adapt(&tensor(&mem), &tensor(&batch)).unwrap());
        reference.observe(&batch, q);
        let (tm, tv) = if reference.init {
            let s = a.state().expect("initialized");
            assert!(
                max_rel_err(&vec_of(&s.mean), &reference.mu) < 1e-10,
                "step {t} mean"
            );
            assert!(
                max_rel_err(&vec_of(&s.var), &reference.v) < 1e-10,
                "step {t} var"
            );
            assert!(
                max_rel_err(&vec_of(&s.p_mean), &reference.p_mu) < 1e-10,
                "step {t} P_mu"
            );
            assert!(
                max_rel_err(&vec_of(&s.p_var), &reference.p_v) < 1e-10,
                "step {t} P_v"
            );
            (reference.mu.clone(), reference.v.clone())
        } else {
            // b = 1 before initialization: matched with the batch's own moments, as XBN
            assert!(a.state().is_none(), "step {t}");
            let (m, v, _) = ref_moments(&batch);
            (m, v)
        };
        let want = ref_xbn(&mem, &tm, &tv, 1e-5, true);
        assert!(max_abs_err(&out, &want) < 1e-12, "step {t} output");
        mem = out;
    }
    assert_eq!(a.state().unwrap().iteration, 7);
}

#[test]
fn huge_drift_rate_reproduces_xbn() {
    // q → ∞ trusts each batch: targets (ȳ, s²). XBN targets (ȳ, σ²_B) with the biased σ²_B, so
    // XBN is fed the batch scaled about its mean by sqrt(b/(b−1)), whose σ²_B is s².
    let mut r = rng(11);
    let d = 7;
    let mut a = axbn(1e16, true);
    let mut x = CrossBatchNorm::new(XbnConfig {
        eps: 1e-5,
        renormalize: true,
    })
    .unwrap();
    let mut mem = tensor(&gaussian(&mut r, 64, &vec![0.0; d], &vec![1.0; d]));
    for t in 0..6 {
        let b = 4 + 3 * t;
        let batch = gaussian(&mut r, b, &vec![t as f64; d], &vec![0.5 + t as f64; d]);
        let (m, _, _) = ref_moments(&batch);
        let f = (b as f64 / (b as f64 - 1.0)).sqrt();
        let scaled: Rows = batch
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&m)
                    .map(|(v, mk)| mk + (v - mk) * f)
                    .collect()
            })
            .collect();
        let got = a.adapt(&mem, &tensor(&batch)).unwrap();
        let want = x.adapt(&mem, &tensor(&scaled)).unwrap();
        let err = max_abs_err(&rows_of(&got), &rows_of(&want));
        assert!(err < 1e-9, "step {t}: {err}");
        mem = got;
    }
}

#[test]
fn zero_drift_rate_converges_to_the_running_mean() {
    let mut r = rng(12);
    let d = 4;
    // Batches with identical per-dimension spread: every observation has the same noise R, so
    // with q = 0 the filtered mean is exactly the running mean of the batch means.
    let pattern = gaussian(&mut r, 8, &vec![0.0; d], &vec![1.0; d]);
    let (pm, pv, pu) = ref_moments(&pattern);
    let mut a = axbn(0.0, false);
    let mem = tensor(&gaussian(&mut r, 10, &vec![0.0; d], &vec![1.0; d]));
    let mut sum = vec![0.0; d];
    for t in 1..=200 {
        let shift = gaussian(&mut r, 1, &vec![3.0; d], &vec![0.5; d]).remove(0);
        let batch: Rows = pattern
            .iter()
            .map(|row| (0..d).map(|k| row[k] - pm[k] + shift[k]).collect())
            .collect();
        a.adapt(&mem, &tensor(&batch)).unwrap();
        sum.iter_mut().zip(&shift).for_each(|(s, v)| *s += v);
        let running: Vec<f64> = sum.iter().map(|s| s / t as f64).collect();
        let s = a.state().unwrap();
        assert!(max_rel_err(&vec_of(&s.mean), &running) < 1e-9, "t = {t}");
        assert!(max_rel_err(&vec_of(&s.var), &pu) < 1e-9, "t = {t}");
    }
    assert!(pv.iter().all(|v| *v > 0.0));
    // and on a random stationary stream the estimate converges to the true moments
    // (with the spec's literal noise R from the batch's own s², the variance is biased low)
    let mut a = axbn(0.0, false);
    for _ in 0..400 {
        let batch = gaussian(&mut r, 16, &vec![2.0; d], &vec![1.5; d]);
        a.adapt(&mem, &tensor(&batch)).unwrap();
    }
    let s = a.state().unwrap();
    // standard errors: mean 1.5/sqrt(6400) ≈ 0.019, variance 2.25·sqrt(2/6400) ≈ 0.04
    assert!(
        vec_of(&s.mean).iter().all(|m| (m - 2.0).abs() < 0.1),
        "{:?}",
        vec_of(&s.mean)
    );
    assert!(
        vec_of(&s.var).iter().all(|v| (v - 2.25).abs() < 0.2),
        "{:?}",
        vec_of(&s.var)
    );
}

/// True moments drifting smoothly: μ_t[k] = sin(2πt/T_k + φ_k), σ_t[k] = 1 + 0.5 sin(2πt/T'_k).
pub fn drifting_truth(t: usize, k: usize) -> (f64, f64) {
    let tf = t as f64;
    let mu = (2.0 * std::f64::consts::PI * tf / (300.0 + 7.0 * k as f64) + k as f64).sin();
    let sd = 1.0 + 0.5 * (2.0 * std::f64::consts::PI * tf / (400.0 + 5.0 * k as f64)).sin();
    (mu, sd)
}

#[test]
fn filtered_moments_beat_raw_batch_moments_on_a_drifting_stream() {
    let (b, d, steps) = (16, 128, 300);
    let mut r = rng(13);
    // A slowly drifting stream, where a small drift rate pays (docs/method.md).
    let mut a = axbn(0.01, true);
    let mem = Tensor::zeros((0, d), DType::F32, &xbn_core::test_util::test_device()).unwrap();
    let (mut se_filter, mut se_raw) = ([0.0f64; 2], [0.0f64; 2]);
    for t in 0..steps {
        let truth: Vec<(f64, f64)> = (0..d).map(|k| drifting_truth(t, k)).collect();
        let mu: Vec<f64> = truth.iter().map(|x| x.0).collect();
        let sd: Vec<f64> = truth.iter().map(|x| x.1).collect();
        let batch = gaussian(&mut r, b, &mu, &sd);
        a.adapt(&mem, &tensor(&batch).to_dtype(DType::F32).unwrap())
            .unwrap();
        if t < 20 {
            continue;
        }
        let s = a.state().unwrap();
        let (fm, fv) = (vec_of(&s.mean), vec_of(&s.var));
        let (bm, _, bu) = ref_moments(&batch);
        for k in 0..d {
            let v = sd[k] * sd[k];
            se_filter[0] += (fm[k] - mu[k]).powi(2);
            se_filter[1] += (fv[k] - v).powi(2);
            se_raw[0] += (bm[k] - mu[k]).powi(2);
            se_raw[1] += (bu[k] - v).powi(2);
        }
    }
    println!("squared error filtered {se_filter:?} vs raw batch {se_raw:?}");
    assert!(
        se_filter[0] < 0.5 * se_raw[0],
        "mean: {se_filter:?} vs {se_raw:?}"
    );
    assert!(
        se_filter[1] < 0.5 * se_raw[1],
        "variance: {se_filter:?} vs {se_raw:?}"
    );
}
