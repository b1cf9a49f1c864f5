//! The fused CPU path of `XbmContrastiveLoss` against its generic tensor path: values and
//! anchor gradients, for both reference sets, with and without excluded pairs, f32 and f64.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::assert_close;
use xbn_losses::{LossError, PairInput, Reduction, RefSet, XbmContrastiveLoss};

/// Loss and anchor gradient of one path.
fn run(fused: bool, loss: &XbmContrastiveLoss, input: &PairInput<'_>, z: &Var) -> (Tensor, Tensor) {
    let l = if fused {
        loss.loss_fused(input).unwrap()
    } else {
        loss.loss_generic(input).unwrap()
    };
    let g = l.backward().unwrap().get(z.as_tensor()).unwrap().clone();
    (l, g)
}

fn compare(dtype: DType, same: bool, exclude: bool, loss: XbmContrastiveLoss) {
    let dev = Device::Cpu;
    let (b, m, d) = (12, 40, 8);
    let z = Var::from_tensor(
        &Tensor::randn(0f64, 1.0, (b, d), &dev)
            .unwrap()
            .to_dtype(dtype)
            .unwrap(),
    )
    .unwrap();
    // Few classes so that every anchor has positives and many negatives pass λ.
    let y = Tensor::from_vec((0..b as u32).map(|i| i % 3).collect::<Vec<_>>(), b, &dev).unwrap();
    // Unnormalized memory rows of very different norms, one of them zero.
    let scale: Vec<f64> = (0..m)
        .map(|j| {
            if j == 5 {
                0.0
            } else {
                10f64.powi(j as i32 % 7 - 3)
            }
        })
        .collect();
    let scale = Tensor::from_vec(scale, (m, 1), &dev).unwrap();
    let mem = Tensor::randn(0f64, 1.0, (m, d), &dev)
        .unwrap()
        .broadcast_mul(&scale)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let my = Tensor::from_vec((0..m as u32).map(|i| i % 4).collect::<Vec<_>>(), m, &dev).unwrap();
    let ex: Vec<f32> = (0..b * m).map(|k| f32::from(k % 7 == 0)).collect();
    let ex = Tensor::from_vec(ex, (b, m), &dev).unwrap();
    let input = if same {
        PairInput {
            anchors: z.as_tensor(),
            anchor_labels: &y,
            refs: z.as_tensor(),
            ref_labels: &y,
            ref_set: RefSet::SameAsAnchors,
            exclude: None,
        }
    } else {
        PairInput {
            anchors: z.as_tensor(),
            anchor_labels: &y,
            refs: &mem,
            ref_labels: &my,
            ref_set: RefSet::Other,
            exclude: exclude.then_some(&ex),
        }
    };
    let (lf, gf) = run(true, &loss, &input, &z);
    let (lg, gg) = run(false, &loss, &input, &z);
    let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
    let what = format!("{dtype:?} same={same} exclude={exclude}");
    assert!(
        lg.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap() > 0.0,
        "{what}"
    );
    assert_close(&format!("{what}: loss"), &lf, &lg, tol, tol);
    assert_close(&format!("{what}: grad"), &gf, &gg, tol, tol);
}

#[test]
fn fused_matches_generic() {
    for dtype in [DType::F32, DType::F64] {
        for (same, exclude) in [(true, false), (false, false), (false, true)] {
            compare(dtype, same, exclude, XbmContrastiveLoss::default());
            compare(dtype, same, exclude, XbmContrastiveLoss::new(0.1));
            let sum = XbmContrastiveLoss {
                lambda: 0.3,
                reduction: Reduction::Sum,
            };
            compare(dtype, same, exclude, sum);
        }
    }
}

#[test]
fn fused_rejects_bad_exclusion_shape() {
    let dev = Device::Cpu;
    let z = Tensor::ones((3, 2), DType::F32, &dev).unwrap();
    let y = Tensor::new(&[0u32, 1, 0], &dev).unwrap();
    let ex = Tensor::zeros((2, 3), DType::U8, &dev).unwrap();
    let input = PairInput {
        anchors: &z,
        anchor_labels: &y,
        refs: &z,
        ref_labels: &y,
        ref_set: RefSet::Other,
        exclude: Some(&ex),
    };
    let loss = XbmContrastiveLoss::default();
    assert!(loss.loss_fused(&input).is_err());
    assert!(loss.loss_generic(&input).is_err());
}

#[test]
fn fused_rejects_non_finite_memory() {
    let dev = Device::Cpu;
    let z = Tensor::new(&[[1f32, 0.0], [0.0, 1.0]], &dev).unwrap();
    let y = Tensor::new(&[0u32, 1], &dev).unwrap();
    let ry = Tensor::new(&[0u32, 1, 0], &dev).unwrap();
    let loss = XbmContrastiveLoss::default();
    for bad in [f32::NAN, f32::INFINITY] {
        let r = Tensor::new(&[[1f32, 0.0], [0.5, 0.5], [0.0, bad]], &dev).unwrap();
        let input = PairInput {
            anchors: &z,
            anchor_labels: &y,
            refs: &r,
            ref_labels: &ry,
            ref_set: RefSet::Other,
            exclude: None,
        };
        let err = loss.loss_fused(&input).unwrap_err();
        assert!(
            matches!(
                err,
                LossError::NonFinite {
                    what: "refs",
                    count: 1,
                    row: 2,
                    col: 1
                }
            ),
            "{err}"
        );
    }
}

/// A memory made only of scaled copies of the anchors (same label: cosine +1) and of negated
/// copies (another label: cosine −1), with λ = 0.99 so that no other pair of the 12 random
/// 16-dim rows counts as a hard negative: every term is 0 in exact arithmetic, so both paths
/// must give exactly 0 and a zero gradient once cosines within 8 ε of ±1 are snapped (before,
/// `1 − S` left about 1e-7 per pair in f32).
#[test]
fn memory_of_duplicates_gives_exactly_zero() {
    let dev = Device::Cpu;
    let (b, d) = (12, 16);
    for dtype in [DType::F32, DType::F64] {
        let z = Tensor::randn(0f64, 1.0, (b, d), &dev)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        let z = Var::from_tensor(&z).unwrap();
        let y: Vec<u32> = (0..b as u32).collect();
        let copies = [1e3, 0.37, 1.0, -1e-3, -3.0];
        let mem = Tensor::cat(
            &copies
                .iter()
                .map(|c| z.as_tensor().affine(*c, 0.0).unwrap())
                .collect::<Vec<_>>(),
            0,
        )
        .unwrap();
        let my: Vec<u32> = copies
            .iter()
            .flat_map(|c| y.iter().map(move |l| if *c > 0.0 { *l } else { l + 100 }))
            .collect();
        let y = Tensor::from_vec(y, b, &dev).unwrap();
        let my = Tensor::from_vec(my, copies.len() * b, &dev).unwrap();
        let input = PairInput {
            anchors: z.as_tensor(),
            anchor_labels: &y,
            refs: &mem,
            ref_labels: &my,
            ref_set: RefSet::Other,
            exclude: None,
        };
        let loss = XbmContrastiveLoss {
            lambda: 0.99,
            reduction: Reduction::Sum,
        };
        for fused in [true, false] {
            let (l, g) = run(fused, &loss, &input, &z);
            let what = format!("{dtype:?} fused={fused}");
            assert_eq!(common::flat(&l), [0.0], "{what}: loss");
            assert!(common::flat(&g).iter().all(|v| *v == 0.0), "{what}: grad");
        }
    }
}
