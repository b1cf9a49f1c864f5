//! Queue behaviour: edge cases, bad input, ages, adaptation and save/restore.

use candle_core::{DType, Device, Tensor};
use proptest::prelude::*;
use xbn_core::{CrossBatchNorm, Identity, MomentMatcher, XbnConfig};
use xbn_memory::{EmbeddingQueue, MemoryError};

fn dev() -> Device {
    xbn_core::test_util::test_device()
}

fn rows(b: usize, d: usize, start: f32) -> Tensor {
    let v: Vec<f32> = (0..b * d).map(|i| start + i as f32).collect();
    Tensor::from_vec(v, (b, d), &dev()).unwrap()
}

fn snapshot(q: &EmbeddingQueue) -> (Vec<Vec<f32>>, Vec<i64>, Vec<i64>, usize, bool) {
    (
        q.embeddings().to_vec2().unwrap(),
        q.labels().to_vec1().unwrap(),
        q.iterations().to_vec1().unwrap(),
        q.write_position(),
        q.is_full(),
    )
}

#[test]
fn bad_input_is_a_typed_error_and_leaves_the_queue_unchanged() {
    let mut q = EmbeddingQueue::new(5, 3, DType::F32, &dev()).unwrap();
    q.enqueue(
        &rows(2, 3, 0.0),
        &Tensor::new(&[1i64, 2], &dev()).unwrap(),
        0,
    )
    .unwrap();
    let before = snapshot(&q);
    let labels2 = Tensor::new(&[1i64, 2], &dev()).unwrap();
    let err = q.enqueue(&rows(2, 4, 0.0), &labels2, 1).unwrap_err();
    assert!(
        matches!(err, MemoryError::EmbeddingShape { dim: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("[2, 4]"), "{err}");
    let err = q.enqueue(
        &rows(0, 3, 0.0),
        &Tensor::zeros(0, DType::I64, &dev()).unwrap(),
        1,
    );
    assert!(matches!(err, Err(MemoryError::EmbeddingShape { .. })));
    let err = q.enqueue(&rows(3, 3, 0.0), &labels2, 1).unwrap_err();
    assert!(
        matches!(err, MemoryError::LabelShape { rows: 3, .. }),
        "{err}"
    );
    let err = q.enqueue(&rows(2, 3, 0.0), &labels2.to_dtype(DType::F32).unwrap(), 1);
    assert!(matches!(err, Err(MemoryError::LabelDType(DType::F32))));
    let nan = Tensor::new(&[[0f32, 1.0, 2.0], [3.0, f32::INFINITY, 5.0]], &dev()).unwrap();
    let err = q.enqueue(&nan, &labels2, 1).unwrap_err();
    assert!(err.to_string().contains("row 1, column 1"), "{err}");
    assert_eq!(snapshot(&q), before);
    assert!(EmbeddingQueue::new(0, 3, DType::F32, &dev()).is_err());
    assert!(EmbeddingQueue::new(3, 3, DType::U32, &dev()).is_err());
}

#[test]
fn u32_labels_ages_and_clear() {
    let mut q = EmbeddingQueue::new(3, 2, DType::F64, &dev()).unwrap();
    assert!(q.is_empty() && q.embeddings().dims() == [0, 2]);
    q.enqueue(
        &rows(2, 2, 0.0),
        &Tensor::new(&[7u32, 8], &dev()).unwrap(),
        10,
    )
    .unwrap();
    q.enqueue(
        &rows(2, 2, 4.0),
        &Tensor::new(&[9u32, 4_000_000_000], &dev()).unwrap(),
        12,
    )
    .unwrap();
    assert_eq!(
        q.labels().to_vec1::<i64>().unwrap(),
        vec![4_000_000_000, 8, 9]
    );
    assert_eq!(q.ages(15).unwrap().to_vec1::<i64>().unwrap(), vec![3, 5, 3]);
    assert_eq!(q.embeddings().dtype(), DType::F64);
    assert_eq!(q.embeddings().to_vec2::<f64>().unwrap()[0], vec![6.0, 7.0]);
    q.clear();
    assert!(q.is_empty() && !q.is_full() && q.last_enqueued_rows().is_empty());
}

#[test]
fn adapt_rewrites_the_memory_and_errors_leave_it_unchanged() {
    let d = dev();
    let mut q = EmbeddingQueue::new(6, 3, DType::F32, &d).unwrap();
    let mut xbn = CrossBatchNorm::new(XbnConfig {
        eps: 1e-5,
        renormalize: false,
    })
    .unwrap();
    let batch = Tensor::randn(2f32, 3.0, (4, 3), &d).unwrap();
    // empty memory: nothing to adapt
    q.adapt(&mut xbn, &batch).unwrap();
    q.enqueue(
        &Tensor::randn(0f32, 1.0, (4, 3), &d).unwrap(),
        &Tensor::new(&[1i64, 2, 3, 4], &d).unwrap(),
        0,
    )
    .unwrap();
    let before = snapshot(&q);
    let want = xbn.adapt(&q.embeddings().copy().unwrap(), &batch).unwrap();
    q.adapt(&mut xbn, &batch).unwrap();
    assert_eq!(
        q.embeddings().to_vec2::<f32>().unwrap(),
        want.to_vec2::<f32>().unwrap()
    );
    assert_eq!(q.labels().to_vec1::<i64>().unwrap(), before.1);
    let adapted = snapshot(&q);
    assert!(
        q.adapt(&mut xbn, &Tensor::zeros((2, 5), DType::F32, &d).unwrap())
            .is_err()
    );
    let nan = Tensor::new(&[[f32::NAN, 0.0, 0.0]], &d).unwrap();
    assert!(q.adapt(&mut xbn, &nan).is_err());
    q.adapt(&mut Identity, &batch).unwrap();
    assert_eq!(snapshot(&q), adapted);
    // full queue: the storage is replaced by the adapted tensor
    q.enqueue(&rows(2, 3, 0.0), &Tensor::new(&[5i64, 6], &d).unwrap(), 1)
        .unwrap();
    assert!(q.is_full());
    let want = xbn.adapt(&q.embeddings().copy().unwrap(), &batch).unwrap();
    q.adapt(&mut xbn, &batch).unwrap();
    assert_eq!(
        q.embeddings().to_vec2::<f32>().unwrap(),
        want.to_vec2::<f32>().unwrap()
    );
    q.enqueue(&rows(1, 3, 100.0), &Tensor::new(&[9i64], &d).unwrap(), 2)
        .unwrap();
    assert_eq!(
        q.embeddings().to_vec2::<f32>().unwrap()[0],
        vec![100.0, 101.0, 102.0]
    );
}

#[test]
fn save_and_restore_round_trip() {
    let d = dev();
    let mut q = EmbeddingQueue::new(4, 2, DType::F32, &d).unwrap();
    q.enqueue(
        &rows(3, 2, 0.0),
        &Tensor::new(&[1i64, 2, 3], &d).unwrap(),
        4,
    )
    .unwrap();
    q.enqueue(&rows(2, 2, 9.0), &Tensor::new(&[4i64, 5], &d).unwrap(), 5)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.safetensors");
    q.save(&path).unwrap();
    let r = EmbeddingQueue::load(&path, &d).unwrap();
    assert_eq!(snapshot(&r), snapshot(&q));
    let mut map = q.to_tensors("ckpt.memory.").unwrap();
    map.insert("other".into(), Tensor::new(&[1f32], &d).unwrap());
    let mut r = EmbeddingQueue::from_tensors(&map, "ckpt.memory.", &d).unwrap();
    assert_eq!(snapshot(&r), snapshot(&q));
    // the restored queue continues exactly like the original
    let (e, l) = (rows(3, 2, 50.0), Tensor::new(&[7i64, 8, 9], &d).unwrap());
    r.enqueue(&e, &l, 6).unwrap();
    q.enqueue(&e, &l, 6).unwrap();
    assert_eq!(snapshot(&r), snapshot(&q));
    // corrupt state is refused
    map.insert(
        "ckpt.memory.write_position".into(),
        Tensor::new(&[4i64], &d).unwrap(),
    );
    assert!(EmbeddingQueue::from_tensors(&map, "ckpt.memory.", &d).is_err());
    map.remove("ckpt.memory.labels");
    assert!(matches!(
        EmbeddingQueue::from_tensors(&map, "ckpt.memory.", &d),
        Err(MemoryError::State(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Against a plain model: every row enqueued one at a time into a Vec ring.
    #[test]
    fn matches_a_row_by_row_ring(cap in 1usize..9, sizes in prop::collection::vec(1usize..20, 1..6)) {
        let d = dev();
        let mut q = EmbeddingQueue::new(cap, 2, DType::F32, &d).unwrap();
        let mut slots: Vec<Option<(f32, i64, i64)>> = vec![None; cap];
        let (mut pos, mut next) = (0usize, 0i64);
        for (it, &b) in sizes.iter().enumerate() {
            let vals: Vec<f32> = (0..b).map(|i| (next + i as i64) as f32).collect();
            let emb = Tensor::from_vec(vals.iter().flat_map(|v| [*v, -v]).collect::<Vec<_>>(), (b, 2), &d).unwrap();
            let labels = Tensor::from_vec((0..b as i64).map(|i| next + i).collect::<Vec<_>>(), b, &d).unwrap();
            q.enqueue(&emb, &labels, it as u64).unwrap();
            for (i, v) in vals.iter().enumerate() {
                slots[pos] = Some((*v, next + i as i64, it as i64));
                pos = (pos + 1) % cap;
            }
            next += b as i64;
            let valid: Vec<(f32, i64, i64)> = slots.iter().flatten().copied().collect();
            prop_assert_eq!(q.len(), valid.len());
            let e = q.embeddings().to_vec2::<f32>().unwrap();
            prop_assert_eq!(e.iter().map(|r| r[0]).collect::<Vec<_>>(), valid.iter().map(|v| v.0).collect::<Vec<_>>());
            prop_assert_eq!(q.labels().to_vec1::<i64>().unwrap(), valid.iter().map(|v| v.1).collect::<Vec<_>>());
            prop_assert_eq!(q.iterations().to_vec1::<i64>().unwrap(), valid.iter().map(|v| v.2).collect::<Vec<_>>());
            let labs = q.labels().to_vec1::<i64>().unwrap();
            for (i, r) in q.last_enqueued_rows().iter().enumerate() {
                let lab = next - b as i64 + i as i64;
                match r {
                    Some(r) => prop_assert_eq!(labs[*r], lab),
                    None => prop_assert!(!labs.contains(&lab)),
                }
            }
        }
    }
}
