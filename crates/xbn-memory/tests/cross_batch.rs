//! `CrossBatchMemory`: the own-copy mask against the queue's row bookkeeping, the fill policy,
//! per-entry provenance, saving and restoring the whole state (matcher included), and bad input
//! leaving everything unchanged.

use candle_core::{DType, Device, Tensor};
use xbn_core::{AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, Identity, XbnConfig};
use xbn_memory::{
    BatchProvenance, CrossBatchMemory, EmbeddingQueue, FillPolicy, MemoryError, MemorySettings,
};

fn batch(rows: usize, dim: usize, seed: f32) -> Tensor {
    let v: Vec<f32> = (0..rows * dim)
        .map(|i| (i as f32 * 0.37 + seed).sin() + seed * 0.1)
        .collect();
    Tensor::from_vec(v, (rows, dim), &Device::Cpu).unwrap()
}

fn labels(rows: usize, offset: i64) -> Tensor {
    let v: Vec<i64> = (0..rows as i64).map(|i| (i + offset) % 3).collect();
    Tensor::from_vec(v, rows, &Device::Cpu).unwrap()
}

fn indices(rows: usize, offset: i64) -> Tensor {
    let v: Vec<i64> = (0..rows as i64).map(|i| 1000 + offset + i).collect();
    Tensor::from_vec(v, rows, &Device::Cpu).unwrap()
}

fn settings(t_start: u64, fill: FillPolicy, provenance: bool) -> MemorySettings {
    MemorySettings {
        t_start,
        fill,
        provenance,
    }
}

/// The mask the trainer used to build on the host from `last_enqueued_rows`.
fn host_mask(rows: &[Option<usize>], m: usize) -> Vec<Vec<u8>> {
    rows.iter()
        .map(|r| (0..m).map(|j| u8::from(*r == Some(j))).collect())
        .collect()
}

#[test]
fn own_copy_mask_matches_the_queue_rows_through_wraparound_and_oversized_batches() {
    let queue = EmbeddingQueue::new(7, 3, DType::F32, &Device::Cpu).unwrap();
    let mut memory = CrossBatchMemory::new(queue, Identity, MemorySettings::default()).unwrap();
    // Batch sizes that fill, wrap around the 7 slots, and exceed the capacity (9 > 7).
    for (t, b) in [3usize, 3, 4, 2, 9, 5].into_iter().enumerate() {
        memory
            .update(&batch(b, 3, t as f32), &labels(b, t as i64), None)
            .unwrap();
        let mask = memory.own_copy_mask(b).unwrap();
        let want = host_mask(memory.queue().last_enqueued_rows(), memory.len());
        assert_eq!(mask.dims(), &[b, memory.len()], "iteration {t}");
        assert_eq!(
            mask.to_vec2::<u8>().unwrap(),
            want,
            "iteration {t}, batch {b}"
        );
        // Every kept row marks exactly its own copy, and that copy holds the row.
        let stored = memory.queue().embeddings();
        for (i, r) in memory.queue().last_enqueued_rows().iter().enumerate() {
            if let Some(r) = r {
                let got = stored.get(*r).unwrap().to_vec1::<f32>().unwrap();
                let sent = batch(b, 3, t as f32)
                    .get(i)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                assert_eq!(got, sent, "iteration {t}, row {i}");
            }
        }
    }
    // A mask for a batch size other than the last enqueued one marks nothing.
    let none = memory.own_copy_mask(2).unwrap();
    assert_eq!(
        none.sum_all()
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap(),
        0.0
    );
}

#[test]
fn fill_policy_decides_when_batches_enter_the_memory() {
    for (fill, lens) in [
        (FillPolicy::FromStart, [2, 4, 6, 8]),
        (FillPolicy::AtTStart, [0, 0, 2, 4]),
    ] {
        let queue = EmbeddingQueue::new(16, 2, DType::F32, &Device::Cpu).unwrap();
        let mut memory = CrossBatchMemory::new(queue, Identity, settings(2, fill, false)).unwrap();
        for (t, want) in lens.into_iter().enumerate() {
            assert_eq!(memory.is_active(), t >= 2, "{fill:?} t = {t}");
            memory
                .update(&batch(2, 2, t as f32), &labels(2, 0), None)
                .unwrap();
            assert_eq!(memory.len(), want, "{fill:?} after iteration {t}");
            assert_eq!(memory.iteration(), t as u64 + 1);
        }
        // Entries carry the iteration they were enqueued at.
        let iters = memory.queue().iterations().to_vec1::<i64>().unwrap();
        let first = if fill == FillPolicy::AtTStart { 2 } else { 0 };
        assert_eq!(iters.first().copied(), Some(first), "{fill:?}");
    }
}

#[test]
fn provenance_follows_each_entry_while_moment_matching_rewrites_the_stored_copy() {
    let queue = EmbeddingQueue::new(5, 4, DType::F32, &Device::Cpu).unwrap();
    let xbn = CrossBatchNorm::new(XbnConfig::default()).unwrap();
    let mut memory =
        CrossBatchMemory::new(queue, xbn, settings(0, FillPolicy::FromStart, true)).unwrap();
    let mut sent = Vec::new(); // (dataset index, seed, embedding) in FIFO order
    for t in 0..4u64 {
        let (z, idx) = (batch(2, 4, t as f32 + 1.0), indices(2, 10 * t as i64));
        // A seed per row: each entry remembers its own image's augmentation.
        let seeds =
            BatchProvenance::seed_tensor(&[77 + 10 * t, 78 + 10 * t], &Device::Cpu).unwrap();
        let p = BatchProvenance {
            dataset_indices: &idx,
            augmentation_seeds: &seeds,
        };
        memory.update(&z, &labels(2, t as i64), Some(&p)).unwrap();
        for i in 0..2 {
            sent.push((
                1000 + 10 * t as i64 + i as i64,
                77 + 10 * t as i64 + i as i64,
                z.get(i).unwrap().to_vec1::<f32>().unwrap(),
            ));
        }
    }
    // 8 rows went through a memory of 5: FIFO positions 0..5 are the last 5 rows sent.
    let kept = &sent[sent.len() - 5..];
    let entries = memory.entries(&[0, 1, 2, 3, 4]).unwrap();
    let got_idx = entries.dataset_indices.unwrap().to_vec1::<i64>().unwrap();
    let got_seed = entries
        .augmentation_seeds
        .unwrap()
        .to_vec1::<i64>()
        .unwrap();
    let raw = entries.as_enqueued.unwrap().to_vec2::<f32>().unwrap();
    for (p, (idx, seed, z)) in kept.iter().enumerate() {
        assert_eq!(got_idx[p], *idx, "position {p}");
        assert_eq!(got_seed[p], *seed, "position {p}");
        assert_eq!(&raw[p], z, "position {p}: as-enqueued embedding");
    }
    // The older entries were adapted by XBN after they were enqueued; the newest were not.
    let adapted = entries.adapted.to_vec2::<f32>().unwrap();
    assert_ne!(
        adapted[0], raw[0],
        "the oldest entry should have been moment-matched"
    );
    assert_eq!(adapted[4], raw[4], "the newest entry is stored as enqueued");
    // Positions beyond the stored entries are refused.
    assert!(matches!(
        memory.entries(&[5]),
        Err(MemoryError::Position {
            position: 5,
            len: 5
        })
    ));
}

#[test]
fn a_memory_with_provenance_requires_it_and_checks_it_before_changing_anything() {
    let queue = EmbeddingQueue::new(4, 2, DType::F32, &Device::Cpu).unwrap();
    let mut memory =
        CrossBatchMemory::new(queue, Identity, settings(0, FillPolicy::FromStart, true)).unwrap();
    let z = batch(2, 2, 0.0);
    assert!(matches!(
        memory.update(&z, &labels(2, 0), None),
        Err(MemoryError::Provenance(_))
    ));
    let wrong = indices(3, 0);
    let seeds = BatchProvenance::seed_tensor(&[1, 1], &Device::Cpu).unwrap();
    let p = BatchProvenance {
        dataset_indices: &wrong,
        augmentation_seeds: &seeds,
    };
    let err = memory.update(&z, &labels(2, 0), Some(&p)).unwrap_err();
    assert!(err.to_string().contains("(2,)"), "{err}");
    assert_eq!((memory.len(), memory.iteration()), (0, 0));
}

#[test]
fn a_bad_batch_changes_neither_the_memory_nor_the_matcher_nor_the_iteration() {
    let queue = EmbeddingQueue::new(6, 3, DType::F32, &Device::Cpu).unwrap();
    let axbn = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).unwrap();
    let mut memory = CrossBatchMemory::new(queue, axbn, MemorySettings::default()).unwrap();
    memory
        .update(&batch(3, 3, 0.0), &labels(3, 0), None)
        .unwrap();
    let before = memory.to_tensors("").unwrap();
    let mut v = vec![0.5f32; 9];
    v[4] = f32::NAN;
    let nan = Tensor::from_vec(v, (3, 3), &Device::Cpu).unwrap();
    assert!(memory.update(&nan, &labels(3, 0), None).is_err());
    assert!(
        memory
            .update(&batch(3, 3, 1.0), &labels(2, 0), None)
            .is_err()
    );
    let after = memory.to_tensors("").unwrap();
    assert_eq!(memory.iteration(), 1);
    for (k, t) in &before {
        let (a, b) = (t.flatten_all().unwrap(), after[k].flatten_all().unwrap());
        let diff = (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert_eq!(diff, 0.0, "`{k}` changed after a refused batch");
    }
}

#[test]
fn saving_and_restoring_mid_run_continues_exactly_like_an_uninterrupted_run() {
    let make = || {
        let queue = EmbeddingQueue::new(6, 3, DType::F32, &Device::Cpu).unwrap();
        let axbn = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).unwrap();
        CrossBatchMemory::new(queue, axbn, settings(1, FillPolicy::FromStart, true)).unwrap()
    };
    let step = |m: &mut CrossBatchMemory<AdaptiveCrossBatchNorm>, t: u64| {
        let idx = indices(4, t as i64);
        let seeds = BatchProvenance::seed_tensor(&[t; 4], &Device::Cpu).unwrap();
        let p = BatchProvenance {
            dataset_indices: &idx,
            augmentation_seeds: &seeds,
        };
        m.update(&batch(4, 3, t as f32 * 0.7), &labels(4, t as i64), Some(&p))
            .unwrap();
    };
    let mut straight = make();
    for t in 0..6 {
        step(&mut straight, t);
    }
    let mut first = make();
    for t in 0..3 {
        step(&mut first, t);
    }
    let saved = first.to_tensors("memory.").unwrap();
    assert!(
        saved.contains_key("memory.matcher.mean"),
        "the filter state is saved"
    );
    assert!(saved.contains_key("memory.provenance.as_enqueued"));
    let mut resumed = make();
    resumed
        .load_tensors(&saved, "memory.", &Device::Cpu)
        .unwrap();
    assert_eq!(resumed.iteration(), 3);
    for t in 3..6 {
        step(&mut resumed, t);
    }
    let (a, b) = (
        straight.to_tensors("").unwrap(),
        resumed.to_tensors("").unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (k, t) in &a {
        let (x, y) = (t.flatten_all().unwrap(), b[k].flatten_all().unwrap());
        let same = x
            .to_dtype(DType::F64)
            .unwrap()
            .eq(&y.to_dtype(DType::F64).unwrap())
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(same as usize, x.elem_count(), "`{k}` differs after resume");
    }
}

#[test]
fn a_malformed_saved_iteration_or_provenance_is_refused_and_changes_nothing() {
    let queue = EmbeddingQueue::new(4, 2, DType::F32, &Device::Cpu).unwrap();
    let mut memory =
        CrossBatchMemory::new(queue, Identity, settings(0, FillPolicy::FromStart, true)).unwrap();
    let idx = indices(2, 0);
    let seeds = BatchProvenance::seed_tensor(&[3, 3], &Device::Cpu).unwrap();
    let p = BatchProvenance {
        dataset_indices: &idx,
        augmentation_seeds: &seeds,
    };
    memory
        .update(&batch(2, 2, 0.5), &labels(2, 0), Some(&p))
        .unwrap();
    let good = memory.to_tensors("").unwrap();
    let cpu = Device::Cpu;
    let cases: [(&str, Tensor, &str); 4] = [
        (
            "iteration",
            Tensor::new(&[-1i64], &cpu).unwrap(),
            "negative",
        ),
        (
            "iteration",
            Tensor::new(&[1i64, 2], &cpu).unwrap(),
            "expected [1] i64",
        ),
        (
            "provenance.as_enqueued",
            Tensor::zeros((4, 3), DType::F32, &cpu).unwrap(),
            "[4, 2]",
        ),
        (
            "provenance.dataset_index",
            Tensor::zeros(3, DType::I64, &cpu).unwrap(),
            "[4]",
        ),
    ];
    for (key, bad, says) in cases {
        let mut map = good.clone();
        map.insert(key.to_string(), bad);
        let err = memory.load_tensors(&map, "", &cpu).unwrap_err();
        assert!(err.to_string().contains(says), "`{key}`: {err}");
        assert_eq!(
            (memory.iteration(), memory.len()),
            (1, 2),
            "`{key}` changed the memory"
        );
    }
    let mut missing = good.clone();
    missing.remove("iteration");
    let err = memory.load_tensors(&missing, "", &cpu).unwrap_err();
    assert!(
        err.to_string().contains("missing tensor `iteration`"),
        "{err}"
    );
}

#[test]
fn restoring_refuses_a_memory_of_another_size_or_without_provenance() {
    let queue = |cap| EmbeddingQueue::new(cap, 2, DType::F32, &Device::Cpu).unwrap();
    let plain = CrossBatchMemory::new(queue(4), Identity, MemorySettings::default()).unwrap();
    let saved = plain.to_tensors("").unwrap();
    let mut other = CrossBatchMemory::new(queue(5), Identity, MemorySettings::default()).unwrap();
    let err = other.load_tensors(&saved, "", &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("4 × 2"), "{err}");
    let mut tracked =
        CrossBatchMemory::new(queue(4), Identity, settings(0, FillPolicy::FromStart, true))
            .unwrap();
    let err = tracked.load_tensors(&saved, "", &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("provenance"), "{err}");
}
