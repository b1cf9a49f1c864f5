//! `XbmLoss` against PML's loss + `CrossBatchMemory` over several iterations, and its
//! order of operations, warm-up and error behaviour.

mod common;

use candle_core::{DType, Tensor, Var};
use common::{assert_close, load};
use xbn_core::{CrossBatchNorm, Identity, MomentMatcher, XbnConfig};
use xbn_losses::{
    ContrastiveLoss, Distance, LossError, ProxyAnchorLoss, XbmContrastiveLoss, XbmLoss,
};
use xbn_memory::{CrossBatchMemory, EmbeddingQueue, FillPolicy, MemorySettings};

/// The memory of these tests: `queue` adapted by `matcher`, loss term from `t_start`, filled from
/// the start, no provenance.
fn memory<M: MomentMatcher>(
    queue: EmbeddingQueue,
    matcher: M,
    t_start: u64,
) -> CrossBatchMemory<M> {
    let settings = MemorySettings {
        t_start,
        fill: FillPolicy::FromStart,
        ..MemorySettings::default()
    };
    CrossBatchMemory::new(queue, matcher, settings).unwrap()
}

fn pml_contrastive() -> Box<ContrastiveLoss> {
    Box::new(ContrastiveLoss::new(1.0, 0.5).with_distance(Distance::Cosine))
}

#[test]
fn matches_pml_cross_batch_memory_over_iterations() {
    let dev = xbn_core::test_util::test_device();
    let data = load("xbm_sequence.safetensors", &dev);
    let w = data["weight"].to_scalar::<f64>().unwrap();
    let cap = data["capacity"]
        .to_dtype(DType::I64)
        .unwrap()
        .to_scalar::<i64>()
        .unwrap() as usize;
    let queue = EmbeddingQueue::new(cap, 6, DType::F64, &dev).unwrap();
    let mut xbm = XbmLoss::new(pml_contrastive(), memory(queue, Identity, 0), w).unwrap();
    for t in 0..5 {
        let get = |k: &str| data[&format!("{t}/{k}")].clone();
        let a = Var::from_tensor(&get("anchors")).unwrap();
        let terms = xbm.forward(a.as_tensor(), &get("anchor_labels")).unwrap();
        assert_close(
            &format!("{t} batch"),
            &terms.batch,
            &get("batch_loss"),
            1e-4,
            1e-10,
        );
        let memory = terms
            .memory
            .expect("t_start = 0: memory term from the first iteration");
        assert_close(
            &format!("{t} memory"),
            &memory,
            &get("memory_loss"),
            1e-4,
            1e-10,
        );
        let grads = terms.total.backward().unwrap();
        assert_close(
            &format!("{t} grad"),
            grads.get(a.as_tensor()).unwrap(),
            &get("grad"),
            1e-4,
            1e-10,
        );
    }
    assert_eq!(xbm.memory().iteration(), 5);
    assert_eq!(xbm.memory().len(), cap);
}

#[test]
fn warm_up_enqueues_without_memory_term() {
    let dev = xbn_core::test_util::test_device();
    let queue = EmbeddingQueue::new(32, 4, DType::F32, &dev).unwrap();
    let mut xbm = XbmLoss::new(
        Box::new(XbmContrastiveLoss::default()),
        memory(queue, Identity, 2),
        1.0,
    )
    .unwrap();
    let y = Tensor::new(&[0u32, 0, 1, 1], &dev).unwrap();
    for t in 0..3 {
        let z = Tensor::randn(0.0f32, 1.0, (4, 4), &dev).unwrap();
        let terms = xbm.forward(&z, &y).unwrap();
        assert_eq!(terms.memory.is_some(), t >= 2, "iteration {t}");
        assert_eq!(xbm.memory().len(), 4 * (t + 1));
        if terms.memory.is_none() {
            let (total, batch) = (
                terms.total.to_scalar::<f32>().unwrap(),
                terms.batch.to_scalar::<f32>().unwrap(),
            );
            assert_eq!(total, batch);
        }
    }
}

#[test]
fn memory_term_excludes_own_copy_only() {
    // A single anchor pair: the memory holds just the batch. Each anchor's own copy (similarity 1,
    // positive term 0 anyway) is excluded, the other copy is a positive: memory term = batch term.
    let dev = xbn_core::test_util::test_device();
    let queue = EmbeddingQueue::new(8, 3, DType::F64, &dev).unwrap();
    let mut xbm = XbmLoss::new(
        Box::new(XbmContrastiveLoss::default()),
        memory(queue, Identity, 0),
        1.0,
    )
    .unwrap();
    let z = Tensor::new(
        &[[1.0f64, 0.2, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 1.0]],
        &dev,
    )
    .unwrap();
    let y = Tensor::new(&[5u32, 5, 7], &dev).unwrap();
    let terms = xbm.forward(&z, &y).unwrap();
    let (b, m) = (
        terms.batch.to_scalar::<f64>().unwrap(),
        terms.memory.unwrap().to_scalar::<f64>().unwrap(),
    );
    assert!(b > 0.1);
    assert!((b - m).abs() < 1e-12, "batch {b} vs memory {m}");
}

#[test]
fn matcher_adapts_stored_entries_before_enqueue() {
    let dev = xbn_core::test_util::test_device();
    let queue = EmbeddingQueue::new(16, 4, DType::F32, &dev).unwrap();
    let matcher = CrossBatchNorm::new(XbnConfig::default()).unwrap();
    let mut xbm = XbmLoss::new(pml_contrastive(), memory(queue, matcher, 0), 1.0).unwrap();
    let y = Tensor::new(&[0u32, 1, 0, 1], &dev).unwrap();
    let z0 = Tensor::randn(0.0f32, 1.0, (4, 4), &dev).unwrap();
    xbm.forward(&z0, &y).unwrap();
    let before = xbm.memory().queue().embeddings().copy().unwrap();
    let z1 = Tensor::randn(3.0f32, 0.5, (4, 4), &dev).unwrap();
    xbm.forward(&z1, &y).unwrap();
    let mut reference = CrossBatchNorm::new(XbnConfig::default()).unwrap();
    let expected = reference.adapt(&before, &z1).unwrap();
    let stored = xbm.memory().queue().embeddings();
    assert_close(
        "adapted rows",
        &stored.narrow(0, 0, 4).unwrap(),
        &expected,
        1e-5,
        1e-6,
    );
    assert_close(
        "enqueued rows",
        &stored.narrow(0, 4, 4).unwrap(),
        &z1,
        0.0,
        0.0,
    );
}

#[test]
fn bad_batch_leaves_memory_unchanged() {
    let dev = xbn_core::test_util::test_device();
    let queue = EmbeddingQueue::new(16, 4, DType::F32, &dev).unwrap();
    let mut xbm = XbmLoss::new(pml_contrastive(), memory(queue, Identity, 0), 1.0).unwrap();
    let y = Tensor::new(&[0u32, 1, 0, 1], &dev).unwrap();
    xbm.forward(&Tensor::randn(0.0f32, 1.0, (4, 4), &dev).unwrap(), &y)
        .unwrap();
    let before = xbm.memory().queue().embeddings().copy().unwrap();
    let mut v = vec![0.1f32; 16];
    v[5] = f32::NAN;
    let bad = Tensor::from_vec(v, (4, 4), &dev).unwrap();
    assert!(matches!(
        xbm.forward(&bad, &y),
        Err(LossError::NonFinite { .. })
    ));
    let wrong_d = Tensor::zeros((4, 3), DType::F32, &dev).unwrap();
    assert!(matches!(
        xbm.forward(&wrong_d, &y),
        Err(LossError::DimMismatch { .. })
    ));
    let short = Tensor::new(&[0u32, 1], &dev).unwrap();
    assert!(matches!(
        xbm.forward(&before, &short),
        Err(LossError::LengthMismatch { .. })
    ));
    assert_eq!(xbm.memory().iteration(), 1);
    assert_eq!(xbm.memory().len(), 4);
    assert_close(
        "memory",
        &xbm.memory().queue().embeddings(),
        &before,
        0.0,
        0.0,
    );
    assert!(
        XbmLoss::new(
            pml_contrastive(),
            memory(xbm.memory().queue().clone(), Identity, 0),
            f64::NAN
        )
        .is_err()
    );
}

#[test]
fn proxy_anchor_trains_through_xbm_without_memory_term() {
    let dev = xbn_core::test_util::test_device();
    let loss = ProxyAnchorLoss::new(3, 4, DType::F32, &dev).unwrap();
    let queue = EmbeddingQueue::new(16, 4, DType::F32, &dev).unwrap();
    let mut xbm = XbmLoss::new(Box::new(loss), memory(queue, Identity, 0), 1.0).unwrap();
    let z = Var::from_tensor(&Tensor::randn(0.0f32, 1.0, (4, 4), &dev).unwrap()).unwrap();
    let terms = xbm
        .forward(z.as_tensor(), &Tensor::new(&[0u32, 1, 2, 1], &dev).unwrap())
        .unwrap();
    assert!(terms.memory.is_none());
    let grads = terms.total.backward().unwrap();
    let params = xbm.parameters();
    assert_eq!(params.len(), 1);
    assert!(grads.get(params[0].as_tensor()).is_some());
    assert!(grads.get(z.as_tensor()).is_some());
}
