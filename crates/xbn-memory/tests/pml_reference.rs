//! Queue contents after each enqueue must equal pytorch-metric-learning's `CrossBatchMemory`
//! (reference data from `reference/gen_queue_reference.py`).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use xbn_memory::EmbeddingQueue;

fn scalar(map: &HashMap<String, Tensor>, key: &str) -> i64 {
    map[key].to_vec1::<i64>().unwrap()[0]
}

fn check_sequence(name: &str) {
    let path = format!(
        "{}/tests/data/queue_{name}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    );
    let dev = xbn_core::test_util::test_device();
    let refs = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    let cap = scalar(&refs, "memory_size") as usize;
    let dim = scalar(&refs, "dim") as usize;
    let steps = scalar(&refs, "steps") as usize;
    let mut q = EmbeddingQueue::new(cap, dim, DType::F32, &dev).unwrap();
    for j in 0..steps {
        let emb = refs[&format!("batch{j}.embeddings")]
            .to_device(&dev)
            .unwrap();
        let labels = refs[&format!("batch{j}.labels")].to_device(&dev).unwrap();
        q.enqueue(&emb, &labels, j as u64).unwrap();
        let ctx = format!("sequence {name}, step {j}");
        let e_mem = refs[&format!("step{j}.E_mem")].to_vec2::<f32>().unwrap();
        let l_mem = refs[&format!("step{j}.L_mem")].to_vec1::<i64>().unwrap();
        assert_eq!(
            q.embeddings().to_vec2::<f32>().unwrap(),
            e_mem,
            "{ctx}: embeddings"
        );
        assert_eq!(q.labels().to_vec1::<i64>().unwrap(), l_mem, "{ctx}: labels");
        assert_eq!(q.len(), l_mem.len(), "{ctx}: len");
        assert_eq!(
            q.write_position() as i64,
            scalar(&refs, &format!("step{j}.queue_idx")),
            "{ctx}: queue_idx"
        );
        assert_eq!(
            q.is_full() as i64,
            scalar(&refs, &format!("step{j}.has_been_filled")),
            "{ctx}: has_been_filled"
        );
        let curr: Vec<Option<usize>> = refs[&format!("step{j}.curr_batch_idx")]
            .to_vec1::<i64>()
            .unwrap()
            .into_iter()
            .map(|i| usize::try_from(i).ok())
            .collect();
        assert_eq!(
            q.last_enqueued_rows(),
            curr.as_slice(),
            "{ctx}: curr_batch_idx"
        );
        // Each surviving row of the batch is found where last_enqueued_rows says.
        let batch_rows = emb.to_vec2::<f32>().unwrap();
        for (i, row) in q.last_enqueued_rows().iter().enumerate() {
            if let Some(r) = row {
                assert_eq!(e_mem[*r], batch_rows[i], "{ctx}: batch row {i}");
            }
        }
    }
}

#[test]
fn wrap_around_matches_pml() {
    check_sequence("wrap");
}

#[test]
fn batches_equal_to_capacity_match_pml() {
    check_sequence("exact");
}

#[test]
fn batches_larger_than_capacity_keep_the_newest() {
    check_sequence("oversize");
}
