//! Bad input gives a typed error naming the problem.

use candle_core::{DType, Device, Tensor};
use xbn_losses::{
    LossError, MetricLoss, MultiSimilarityLoss, PairInput, ProxyAnchorLoss, RefSet,
    TripletMarginLoss, TripletMining,
};

fn dev() -> Device {
    xbn_core::test_util::test_device()
}

fn emb(n: usize, d: usize) -> Tensor {
    Tensor::randn(0.0f32, 1.0, (n, d), &dev()).unwrap()
}

fn labels(n: usize) -> Tensor {
    Tensor::arange(0u32, n as u32, &dev()).unwrap()
}

#[test]
fn label_length_mismatch() {
    let a = emb(4, 3);
    let err = MultiSimilarityLoss::default()
        .forward(&a, &labels(3), &a, &labels(3), RefSet::SameAsAnchors)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::LengthMismatch {
                what: "anchor_labels",
                labels: 3,
                rows: 4
            }
        ),
        "{err}"
    );
    let r = emb(5, 3);
    let err = MultiSimilarityLoss::default()
        .forward(&a, &labels(4), &r, &labels(6), RefSet::Other)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::LengthMismatch {
                what: "ref_labels",
                labels: 6,
                rows: 5
            }
        ),
        "{err}"
    );
}

#[test]
fn wrong_ranks() {
    let a = Tensor::zeros((2, 3, 4), DType::F32, &dev()).unwrap();
    let err = MultiSimilarityLoss::default()
        .forward(&a, &labels(2), &a, &labels(2), RefSet::SameAsAnchors)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::WrongRank {
                what: "anchors",
                expected: 2,
                ..
            }
        ),
        "{err}"
    );
    let a = emb(3, 2);
    let y = Tensor::zeros((3, 1), DType::U32, &dev()).unwrap();
    let err = MultiSimilarityLoss::default()
        .forward(&a, &y, &a, &y, RefSet::SameAsAnchors)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::WrongRank {
                what: "anchor_labels",
                expected: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn non_finite_embeddings_are_located() {
    let mut v = vec![0.5f32; 12];
    v[7] = f32::NAN;
    v[9] = f32::INFINITY;
    let a = Tensor::from_vec(v, (4, 3), &dev()).unwrap();
    let err = MultiSimilarityLoss::default()
        .forward(&a, &labels(4), &a, &labels(4), RefSet::SameAsAnchors)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::NonFinite {
                what: "anchors",
                count: 2,
                row: 2,
                col: 1
            }
        ),
        "{err}"
    );
    let good = emb(4, 3);
    let err = MultiSimilarityLoss::default()
        .forward(&good, &labels(4), &a, &labels(4), RefSet::Other)
        .unwrap_err();
    assert!(
        matches!(err, LossError::NonFinite { what: "refs", .. }),
        "{err}"
    );
}

#[test]
fn empty_reference_set() {
    let a = emb(4, 3);
    let r = Tensor::zeros((0, 3), DType::F32, &dev()).unwrap();
    let ry = Tensor::zeros(0, DType::U32, &dev()).unwrap();
    let err = MultiSimilarityLoss::default()
        .forward(&a, &labels(4), &r, &ry, RefSet::Other)
        .unwrap_err();
    assert!(
        matches!(err, LossError::Empty { what: "refs", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("refs is empty"));
}

#[test]
fn dimension_mask_and_dtype_errors() {
    let a = emb(4, 3);
    let err = MultiSimilarityLoss::default()
        .forward(&a, &labels(4), &emb(5, 2), &labels(5), RefSet::Other)
        .unwrap_err();
    assert!(matches!(err, LossError::DimMismatch { .. }), "{err}");
    let mask = Tensor::zeros((4, 4), DType::U8, &dev()).unwrap();
    let r = emb(5, 3);
    let input = PairInput {
        anchors: &a,
        anchor_labels: &labels(4),
        refs: &r,
        ref_labels: &labels(5),
        ref_set: RefSet::Other,
        exclude: Some(&mask),
    };
    let err = MultiSimilarityLoss::default().loss(&input).unwrap_err();
    assert!(matches!(err, LossError::MaskShape { .. }), "{err}");
    let fl = Tensor::zeros(4, DType::F32, &dev()).unwrap();
    let err = MultiSimilarityLoss::default()
        .forward(&a, &fl, &a, &fl, RefSet::SameAsAnchors)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::DType {
                what: "anchor_labels",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn all_triplets_refuse_memory_sizes() {
    let loss = TripletMarginLoss::new(0.1, TripletMining::All);
    let a = emb(64, 4);
    let r = emb(8192, 4);
    let err = loss
        .forward(&a, &labels(64), &r, &labels(8192), RefSet::Other)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::TooManyTriplets {
                anchors: 64,
                refs: 8192,
                ..
            }
        ),
        "{err}"
    );
    let hard = TripletMarginLoss::new(0.1, TripletMining::BatchHard);
    assert!(
        hard.forward(&a, &labels(64), &r, &labels(8192), RefSet::Other)
            .is_ok()
    );
}

#[test]
fn proxy_anchor_rejects_bad_labels_and_refs() {
    let loss = ProxyAnchorLoss::new(3, 4, DType::F32, &dev()).unwrap();
    let a = emb(2, 4);
    let y = Tensor::new(&[0u32, 3], &dev()).unwrap();
    let err = loss
        .forward(&a, &y, &a, &y, RefSet::SameAsAnchors)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LossError::LabelOutOfRange {
                label: 3,
                row: 1,
                num_classes: 3
            }
        ),
        "{err}"
    );
    let y = Tensor::new(&[0u32, 2], &dev()).unwrap();
    let err = loss.forward(&a, &y, &a, &y, RefSet::Other).unwrap_err();
    assert!(matches!(err, LossError::RefsNotSupported { .. }), "{err}");
}
