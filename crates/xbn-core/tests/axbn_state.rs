//! Adaptive XBN: bad input leaves the filter unchanged; save/restore round trips; edge cases.

mod common;

use candle_core::{DType, Tensor};
use common::*;
use proptest::prelude::*;
use xbn_core::{
    AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, MomentMatcher, XbnConfig, XbnError,
};

fn state_vecs(a: &AdaptiveCrossBatchNorm) -> Option<(Vec<Vec<f64>>, u64)> {
    a.state().map(|s| {
        (
            [&s.mean, &s.var, &s.p_mean, &s.p_var]
                .iter()
                .map(|t| vec_of(t))
                .collect(),
            s.iteration,
        )
    })
}

fn warmed_up(seed: u64, d: usize) -> (AdaptiveCrossBatchNorm, Tensor) {
    let mut r = rng(seed);
    let mut a = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).unwrap();
    let mem = tensor(&gaussian(&mut r, 30, &vec![0.0; d], &vec![1.0; d]));
    for _ in 0..3 {
        let batch = tensor(&gaussian(&mut r, 6, &vec![0.5; d], &vec![2.0; d]));
        a.adapt(&mem, &batch).unwrap();
    }
    (a, mem)
}

#[test]
fn bad_input_leaves_the_filter_unchanged() {
    let (mut a, mem) = warmed_up(20, 4);
    let before = state_vecs(&a);
    let shift = a.last_shift();
    let good = mem.narrow(0, 0, 5).unwrap();
    let mut nan = rows_of(&good);
    nan[3][1] = f64::NAN;
    let cases = [
        a.adapt(&mem, &good.narrow(1, 0, 3).unwrap()).unwrap_err(),
        a.adapt(&mem, &good.flatten_all().unwrap()).unwrap_err(),
        a.adapt(&mem, &good.narrow(0, 0, 0).unwrap()).unwrap_err(),
        a.adapt(&mem, &tensor(&nan)).unwrap_err(),
        a.adapt(
            &mem.narrow(1, 0, 3).unwrap(),
            &good.narrow(1, 0, 3).unwrap(),
        )
        .unwrap_err(),
    ];
    assert!(
        matches!(cases[0], XbnError::DimMismatch { .. }),
        "{}",
        cases[0]
    );
    assert!(
        matches!(cases[1], XbnError::WrongRank { what: "batch", .. }),
        "{}",
        cases[1]
    );
    assert!(matches!(cases[2], XbnError::Empty { .. }), "{}", cases[2]);
    assert!(
        matches!(cases[3], XbnError::NonFinite { row: 3, col: 1, .. }),
        "{}",
        cases[3]
    );
    assert!(cases[4].to_string().contains("d = 4"), "{}", cases[4]);
    assert_eq!(state_vecs(&a), before);
    assert_eq!(a.last_shift(), shift);
    assert!(
        AdaptiveCrossBatchNorm::new(AxbnConfig {
            drift_rate: -1.0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        AdaptiveCrossBatchNorm::new(AxbnConfig {
            eps: f64::NAN,
            ..Default::default()
        })
        .is_err()
    );
}

#[test]
fn empty_memory_still_updates_the_filter_and_b1_keeps_the_variance() {
    let (mut a, mem) = warmed_up(21, 4);
    let empty = mem.narrow(0, 0, 0).unwrap();
    let batch = mem.narrow(0, 0, 5).unwrap();
    let out = a.adapt(&empty, &batch).unwrap();
    assert_eq!(out.dims(), &[0, 4]);
    assert_eq!(a.state().unwrap().iteration, 4);
    assert!(a.last_shift().is_none());
    let v = vec_of(&a.state().unwrap().var);
    a.adapt(&mem, &mem.narrow(0, 7, 1).unwrap()).unwrap();
    assert_eq!(
        vec_of(&a.state().unwrap().var),
        v,
        "b = 1 skips the variance update"
    );
    assert_eq!(a.state().unwrap().iteration, 5);
    assert!(a.last_shift().unwrap().mean.is_finite());
}

#[test]
fn save_and_restore_round_trip_file_and_prefixed_map() {
    let (a, mem) = warmed_up(22, 6);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("axbn.safetensors");
    a.save_state(&path).unwrap();
    let dev = xbn_core::test_util::test_device();
    let mut from_file = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).unwrap();
    from_file.load_state(&path, &dev).unwrap();
    assert_eq!(state_vecs(&from_file), state_vecs(&a));
    let mut map = a.state_tensors("ckpt.axbn.").unwrap();
    map.insert(
        "ckpt.model.w".into(),
        Tensor::zeros(3, DType::F32, &dev).unwrap(),
    );
    let mut from_map = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).unwrap();
    from_map
        .load_state_tensors(&map, "ckpt.axbn.", &dev)
        .unwrap();
    assert_eq!(state_vecs(&from_map), state_vecs(&a));
    // restored filters continue exactly like the original
    let mut a = a;
    let batch = tensor(&gaussian(&mut rng(5), 6, &[1.0; 6], &[1.0; 6]));
    let want = rows_of(&a.adapt(&mem, &batch).unwrap());
    assert_eq!(rows_of(&from_file.adapt(&mem, &batch).unwrap()), want);
    assert_eq!(rows_of(&from_map.adapt(&mem, &batch).unwrap()), want);
    // an uninitialized filter round-trips as uninitialized
    let mut fresh = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).unwrap();
    let empty = fresh.state_tensors("").unwrap();
    from_map.load_state_tensors(&empty, "", &dev).unwrap();
    assert!(from_map.state().is_none());
    // corrupt state is refused and leaves the filter as it was
    let before = state_vecs(&a);
    let mut bad = a.state_tensors("").unwrap();
    bad.insert("p_var".into(), Tensor::new(&[-1.0f64; 6], &dev).unwrap());
    assert!(matches!(
        a.load_state_tensors(&bad, "", &dev),
        Err(XbnError::State(_))
    ));
    bad.remove("var");
    assert!(
        a.load_state_tensors(&bad, "", &dev)
            .unwrap_err()
            .to_string()
            .contains("`var`")
    );
    assert!(
        a.load_state(dir.path().join("missing.safetensors"), &dev)
            .is_err()
    );
    assert_eq!(state_vecs(&a), before);
    fresh.reset();
    a.reset();
    assert!(a.state().is_none() && a.last_shift().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// For any shapes (including m = 1, b = 1, m < b) XBN output equals the reference formula.
    #[test]
    fn xbn_equals_the_reference_for_any_shape(
        m in 1usize..24, b in 1usize..24, d in 1usize..6, seed in 0u64..1000,
        renormalize in any::<bool>(),
    ) {
        let mut r = rng(seed);
        let mem = gaussian(&mut r, m, &vec![0.3; d], &vec![1.2; d]);
        let batch = gaussian(&mut r, b, &vec![-0.4; d], &vec![0.7; d]);
        let (tm, tv, _) = ref_moments(&batch);
        let mut x = CrossBatchNorm::new(XbnConfig { eps: 1e-5, renormalize }).unwrap();
        let got = rows_of(&x.adapt(&tensor(&mem), &tensor(&batch)).unwrap());
        prop_assert!(max_abs_err(&got, &ref_xbn(&mem, &tm, &tv, 1e-5, renormalize)) < 1e-10);
    }
}
