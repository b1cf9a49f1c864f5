//! The local-linear-trend filter of adaptive XBN (`AxbnConfig::trend_rate > 0`): on moments that
//! move steadily it follows them without the random walk's lag; its state saves and loads.

mod common;

use common::*;
use xbn_core::{AdaptiveCrossBatchNorm, AxbnConfig, MomentMatcher};

fn filter(q: f64, trend_rate: f64) -> AdaptiveCrossBatchNorm {
    AdaptiveCrossBatchNorm::new(AxbnConfig {
        drift_rate: q,
        trend_rate,
        ..AxbnConfig::default()
    })
    .unwrap()
}

/// Mean signed error (bias) of the filtered mean against the true mean over the last 200 of
/// 400 batches of 16 in 32 dimensions, the true mean rising by `slope` per batch (variance 1).
fn bias(a: &mut AdaptiveCrossBatchNorm, slope: f64, seed: u64) -> f64 {
    let mut r = rng(seed);
    let d = 32;
    let memory = tensor(&gaussian(&mut r, 32, &vec![0.0; d], &vec![1.0; d]));
    let mut err = 0.0;
    for t in 0..400 {
        let mu = slope * t as f64;
        let batch = gaussian(&mut r, 16, &vec![mu; d], &vec![1.0; d]);
        a.adapt(&memory, &tensor(&batch)).unwrap();
        if t >= 200 {
            let m = vec_of(&a.state().unwrap().mean);
            err += m.iter().map(|x| x - mu).sum::<f64>() / d as f64;
        }
    }
    err / 200.0
}

#[test]
fn a_steady_trend_is_followed_without_the_random_walks_lag() {
    let slope = 0.02;
    // The random walk (q = 0.01, b = 16: R = 1/16, steady gain K ≈ 0.33) lags a rising mean
    // by slope · (1 − K)/K ≈ −0.041; the local linear trend has no such bias.
    let random_walk = bias(&mut filter(0.01, 0.0), slope, 1);
    let trend = bias(&mut filter(0.01, 1e-4), slope, 1);
    assert!(random_walk < -0.03, "random-walk bias {random_walk}");
    assert!(
        trend.abs() < 0.015,
        "trend bias {trend} (random walk {random_walk})"
    );
    // On stationary moments neither is biased.
    let still = bias(&mut filter(0.01, 1e-4), 0.0, 2);
    assert!(still.abs() < 0.015, "stationary bias {still}");
}

#[test]
fn the_trend_state_saves_loads_and_must_match_the_configuration() {
    let mut r = rng(3);
    let d = 4;
    let memory = tensor(&gaussian(&mut r, 16, &vec![0.0; d], &vec![1.0; d]));
    let mut a = filter(0.01, 1e-3);
    for t in 0..20 {
        let batch = gaussian(&mut r, 8, &vec![0.5 * t as f64; d], &vec![1.0; d]);
        a.adapt(&memory, &tensor(&batch)).unwrap();
    }
    let trend = a.state().unwrap().trend.clone().expect("slopes tracked");
    let slopes = vec_of(&trend.mean_slope);
    assert!(
        slopes.iter().all(|g| *g > 0.25),
        "a mean rising by 0.5 per batch: {slopes:?}"
    );
    let saved = a.filter_state_tensors("axbn.").unwrap();
    assert_eq!(saved.len(), 2 + 4 + 6);
    let mut b = filter(0.01, 1e-3);
    b.load_filter_state_tensors(&saved, "axbn.", &candle_core::Device::Cpu)
        .unwrap();
    let loaded = b.state().unwrap().trend.clone().unwrap();
    assert_eq!(vec_of(&loaded.mean_slope), vec_of(&trend.mean_slope));
    // A random-walk filter refuses a state with slopes, and a trend filter one without.
    let mut plain = filter(0.01, 0.0);
    assert!(
        plain
            .load_filter_state_tensors(&saved, "axbn.", &candle_core::Device::Cpu)
            .is_err()
    );
    let mut partial = saved.clone();
    partial.remove("axbn.var_slope");
    let err = b
        .load_filter_state_tensors(&partial, "axbn.", &candle_core::Device::Cpu)
        .unwrap_err();
    assert!(err.to_string().contains("5 of the 6"), "{err}");
    assert!(
        AdaptiveCrossBatchNorm::new(AxbnConfig {
            trend_rate: -1.0,
            ..AxbnConfig::default()
        })
        .is_err()
    );
}
