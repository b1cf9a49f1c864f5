//! XBN and moments against the independent float64 reference (tests/common).

mod common;

use candle_core::DType;
use common::*;
use xbn_core::{CrossBatchNorm, MomentMatcher, XbnConfig, XbnError, moments};

fn xbn(eps: f64, renormalize: bool) -> CrossBatchNorm {
    CrossBatchNorm::new(XbnConfig { eps, renormalize }).unwrap()
}

#[test]
fn adapted_moments_equal_the_batch_moments_f64() {
    let mut r = rng(1);
    let d = 24;
    let mu_m: Vec<f64> = (0..d).map(|k| k as f64 * 0.3 - 2.0).collect();
    let sd_m: Vec<f64> = (0..d).map(|k| 0.5 + k as f64 * 0.1).collect();
    let mu_b: Vec<f64> = (0..d).map(|k| 1.0 - k as f64 * 0.05).collect();
    let sd_b: Vec<f64> = (0..d).map(|k| 2.0 - k as f64 * 0.05).collect();
    let mem = gaussian(&mut r, 300, &mu_m, &sd_m);
    let batch = gaussian(&mut r, 32, &mu_b, &sd_b);
    let (tm, tv, _) = ref_moments(&batch);
    let (_, mv, _) = ref_moments(&mem);
    // With ε → 0 the adapted moments equal the batch's (1e-5 relative).
    let out = rows_of(
        &xbn(1e-12, false)
            .adapt(&tensor(&mem), &tensor(&batch))
            .unwrap(),
    );
    let (om, ov, _) = ref_moments(&out);
    assert!(max_rel_err(&om, &tm) < 1e-5, "means {om:?} vs {tm:?}");
    assert!(max_rel_err(&ov, &tv) < 1e-5, "variances {ov:?} vs {tv:?}");
    // With ε = 1e-5 the map sends σ²_M + ε onto σ²_B + ε, so the adapted biased variance is
    // exactly (σ²_B + ε)·σ²_M/(σ²_M + ε) (relative deviation from σ²_B ≈ ε/σ²_M − ε/σ²_B).
    let eps = 1e-5;
    let out = xbn(eps, false)
        .adapt(&tensor(&mem), &tensor(&batch))
        .unwrap();
    assert_eq!(out.dtype(), DType::F64);
    let out = rows_of(&out);
    let (om, ov, _) = ref_moments(&out);
    let want_v: Vec<f64> = (0..d)
        .map(|k| (tv[k] + eps) * mv[k] / (mv[k] + eps))
        .collect();
    assert!(max_rel_err(&om, &tm) < 1e-5, "means {om:?} vs {tm:?}");
    assert!(
        max_rel_err(&ov, &want_v) < 1e-10,
        "variances {ov:?} vs {want_v:?}"
    );
    let want = ref_xbn(&mem, &tm, &tv, eps, false);
    assert!(max_abs_err(&out, &want) < 1e-12);
}

#[test]
fn outputs_equal_the_reference_formula_with_renormalization_f32_and_f64() {
    let mut r = rng(2);
    let d = 16;
    let mem = gaussian(&mut r, 100, &vec![0.2; d], &vec![0.3; d]);
    let batch = gaussian(&mut r, 8, &vec![-0.1; d], &vec![0.5; d]);
    let (tm, tv, _) = ref_moments(&batch);
    let want = ref_xbn(&mem, &tm, &tv, 1e-5, true);
    let got = xbn(1e-5, true)
        .adapt(&tensor(&mem), &tensor(&batch))
        .unwrap();
    assert!(max_abs_err(&rows_of(&got), &want) < 1e-12);
    let (m32, b32) = (
        tensor(&mem).to_dtype(DType::F32).unwrap(),
        tensor(&batch).to_dtype(DType::F32).unwrap(),
    );
    let got = xbn(1e-5, true).adapt(&m32, &b32).unwrap();
    assert_eq!(got.dtype(), DType::F32);
    assert!(max_abs_err(&rows_of(&got), &want) < 2e-5);
    for half in [DType::F16, DType::BF16] {
        let (mh, bh) = (m32.to_dtype(half).unwrap(), b32.to_dtype(half).unwrap());
        let got = xbn(1e-5, true).adapt(&mh, &bh).unwrap();
        assert_eq!(got.dtype(), half);
        // reference on the rounded inputs; output rounding of half precision only
        let (mr, br) = (rows_of(&mh), rows_of(&bh));
        let (tm, tv, _) = ref_moments(&br);
        let tol = if half == DType::F16 { 2e-3 } else { 1.6e-2 };
        assert!(max_abs_err(&rows_of(&got), &ref_xbn(&mr, &tm, &tv, 1e-5, true)) < tol);
    }
}

#[test]
fn moments_match_the_reference_and_half_inputs_accumulate_in_f32() {
    let mut r = rng(3);
    let x = gaussian(&mut r, 57, &[1.0, -3.0, 100.0], &[0.1, 2.0, 0.01]);
    let m = moments(&tensor(&x)).unwrap();
    let (mean, var, unb) = ref_moments(&x);
    assert_eq!(m.count, 57);
    assert!(max_rel_err(&vec_of(&m.mean), &mean) < 1e-13);
    assert!(max_rel_err(&vec_of(&m.var), &var) < 1e-11);
    assert!(max_rel_err(&vec_of(&m.var_unbiased), &unb) < 1e-11);
    let h = tensor(&x).to_dtype(DType::F16).unwrap();
    let mh = moments(&h).unwrap();
    assert_eq!(mh.dtype(), DType::F32);
    let (mean, var, _) = ref_moments(&rows_of(&h));
    assert!(max_rel_err(&vec_of(&mh.mean), &mean) < 1e-6);
    assert!(max_rel_err(&vec_of(&mh.var), &var) < 1e-3);
    let one = moments(&tensor(&vec![vec![4.0, 5.0]])).unwrap();
    assert_eq!(vec_of(&one.var_unbiased), vec![0.0, 0.0]);
}

#[test]
fn edge_cases_b1_m1_zero_variance_and_small_memory() {
    let mut r = rng(4);
    let d = 6;
    let eps = 1e-5;
    let mem = gaussian(&mut r, 10, &vec![0.0; d], &vec![1.0; d]);
    // b = 1: σ²_B = 0, only ε remains
    let one = gaussian(&mut r, 1, &vec![3.0; d], &vec![1.0; d]);
    let got = rows_of(&xbn(eps, false).adapt(&tensor(&mem), &tensor(&one)).unwrap());
    assert!(max_abs_err(&got, &ref_xbn(&mem, &one[0], &vec![0.0; d], eps, false)) < 1e-12);
    // m = 1: every column has zero variance, so the row becomes μ_B
    let batch = gaussian(&mut r, 8, &vec![-1.0; d], &vec![2.0; d]);
    let (tm, _, _) = ref_moments(&batch);
    let got = rows_of(
        &xbn(eps, false)
            .adapt(&tensor(&mem[..1].to_vec()), &tensor(&batch))
            .unwrap(),
    );
    assert!(max_abs_err(&got, &vec![tm.clone()]) < 1e-12);
    // zero-variance columns in memory and batch
    let mut mem0 = mem.clone();
    let mut batch0 = batch.clone();
    mem0.iter_mut().for_each(|row| row[2] = 7.0);
    batch0.iter_mut().for_each(|row| row[4] = -2.0);
    let (tm, tv, _) = ref_moments(&batch0);
    let got = rows_of(
        &xbn(eps, false)
            .adapt(&tensor(&mem0), &tensor(&batch0))
            .unwrap(),
    );
    assert!(max_abs_err(&got, &ref_xbn(&mem0, &tm, &tv, eps, false)) < 1e-12);
    assert!(got.iter().all(|row| (row[2] - tm[2]).abs() < 1e-12));
    // memory smaller than the batch
    let big = gaussian(&mut r, 64, &vec![0.5; d], &vec![1.5; d]);
    let (tm, tv, _) = ref_moments(&big);
    let got = rows_of(
        &xbn(eps, true)
            .adapt(&tensor(&mem[..3].to_vec()), &tensor(&big))
            .unwrap(),
    );
    assert!(max_abs_err(&got, &ref_xbn(&mem[..3].to_vec(), &tm, &tv, eps, true)) < 1e-12);
    // empty memory: nothing to adapt
    let empty = tensor(&mem).narrow(0, 0, 0).unwrap();
    let mut x = xbn(eps, true);
    assert_eq!(x.adapt(&empty, &tensor(&big)).unwrap().dims(), &[0, d]);
    assert!(x.last_shift().is_none());
    // d = 0: nothing to match, shapes preserved
    let none = tensor(&mem).narrow(1, 0, 0).unwrap();
    assert_eq!(moments(&none).unwrap().mean.dims(), &[0]);
    let got = x
        .adapt(&none, &tensor(&big).narrow(1, 0, 0).unwrap())
        .unwrap();
    assert_eq!(got.dims(), &[10, 0]);
}

#[test]
fn bad_input_gives_typed_errors_naming_the_fault() {
    let mut r = rng(5);
    let mem = tensor(&gaussian(&mut r, 10, &[0.0; 4], &[1.0; 4]));
    let batch = tensor(&gaussian(&mut r, 5, &[0.0; 4], &[1.0; 4]));
    let mut x = xbn(1e-5, true);
    let e = x.adapt(&mem.flatten_all().unwrap(), &batch).unwrap_err();
    assert!(
        matches!(e, XbnError::WrongRank { what: "memory", .. }),
        "{e}"
    );
    let e = x.adapt(&mem, &batch.narrow(1, 0, 3).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("[10, 4]") && e.to_string().contains("[5, 3]"),
        "{e}"
    );
    let e = x.adapt(&mem, &batch.narrow(0, 0, 0).unwrap()).unwrap_err();
    assert!(matches!(e, XbnError::Empty { what: "batch", .. }), "{e}");
    let mut bad = rows_of(&mem);
    bad[7][2] = f64::NAN;
    bad[8][1] = f64::INFINITY;
    let e = x.adapt(&tensor(&bad), &batch).unwrap_err();
    assert!(
        matches!(
            e,
            XbnError::NonFinite {
                what: "memory",
                count: 2,
                row: 7,
                col: 2
            }
        ),
        "{e}"
    );
    let e = x
        .adapt(&mem, &mem.to_dtype(DType::U32).unwrap())
        .unwrap_err();
    assert!(matches!(e, XbnError::UnsupportedDType { .. }), "{e}");
    assert!(
        x.last_shift().is_none(),
        "failed calls must not record a shift"
    );
    assert!(
        CrossBatchNorm::new(XbnConfig {
            eps: 0.0,
            renormalize: true
        })
        .is_err()
    );
}

#[test]
fn last_shift_reports_the_moments_distance() {
    let mut r = rng(6);
    let mem = gaussian(&mut r, 50, &[0.0; 3], &[1.0; 3]);
    let batch = gaussian(&mut r, 20, &[1.0; 3], &[2.0; 3]);
    let mut x = xbn(1e-5, false);
    x.adapt(&tensor(&mem), &tensor(&batch)).unwrap();
    let s = x.last_shift().unwrap();
    let (mm, mv, _) = ref_moments(&mem);
    let (bm, bv, _) = ref_moments(&batch);
    let mean = (0..3).map(|k| (mm[k] - bm[k]).abs()).sum::<f64>() / 3.0;
    let ls = (0..3)
        .map(|k| 0.5 * ((mv[k] + 1e-5).ln() - (bv[k] + 1e-5).ln()).abs())
        .sum::<f64>()
        / 3.0;
    assert!(
        (s.mean - mean).abs() < 1e-12 && (s.log_std - ls).abs() < 1e-12,
        "{s:?}"
    );
}
