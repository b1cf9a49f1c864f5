//! Reading the memory of checkpoints written before `CrossBatchMemory` owned it: the queue in
//! `memory.*` without its iteration, the adaptive-XBN filter state in `norm.*`, and the
//! trainer's host-side table of the memory in `ledger.*` (`indices` `(n,)` and `raw` `(n × d)`,
//! oldest entry first). Converted once, at resume, into the map
//! `CrossBatchMemory::load_tensors` reads.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use xbn_memory::NO_AUGMENTATION;

use crate::error::{Result, TrainError};

fn bad(message: String) -> TrainError {
    TrainError::LegacyMemory(message)
}

fn scalar(map: &HashMap<String, Tensor>, key: &str) -> Result<i64> {
    let t = map
        .get(key)
        .ok_or_else(|| bad(format!("`memory.{key}` is missing")))?;
    Ok(t.flatten_all()?.to_dtype(DType::I64)?.to_vec1::<i64>()?[0])
}

/// The new-format memory state from the old parts; `iteration` is the checkpoint's, `tracked`
/// whether the memory keeps provenance (then the ledger must cover every stored entry).
pub fn legacy_memory_state(
    mut memory: HashMap<String, Tensor>,
    norm: &HashMap<String, Tensor>,
    ledger: &HashMap<String, Tensor>,
    iteration: usize,
    tracked: bool,
) -> Result<HashMap<String, Tensor>> {
    memory.insert(
        "iteration".into(),
        Tensor::new(&[iteration as i64], &Device::Cpu)?,
    );
    for (k, t) in norm {
        memory.insert(format!("matcher.{k}"), t.clone());
    }
    if !tracked {
        return Ok(memory);
    }
    let embeddings = memory
        .get("embeddings")
        .ok_or_else(|| bad("`memory.embeddings` is missing".into()))?;
    let (cap, dim) = embeddings.dims2()?;
    let write = usize::try_from(scalar(&memory, "write_position")?)
        .map_err(|_| bad("negative `memory.write_position`".into()))?;
    let filled = scalar(&memory, "filled")? != 0;
    let len = if filled { cap } else { write };
    let (indices, raw) = match (ledger.get("indices"), ledger.get("raw")) {
        (Some(i), Some(r)) => (i, r),
        _ => {
            return Err(bad(
                "no `ledger.*` to rebuild the per-entry provenance the drift diagnostic needs; \
                 resume with `--set run.measure_drift=0`"
                    .into(),
            ));
        }
    };
    let indices: Vec<i64> = indices.to_dtype(DType::I64)?.to_vec1()?;
    if indices.len() != len || (len > 0 && raw.dims() != [len, dim]) {
        return Err(bad(format!(
            "`ledger.indices` has {} entries and `ledger.raw` shape {:?} for a memory of {len} \
             entries of dimension {dim}",
            indices.len(),
            raw.dims()
        )));
    }
    let raw: Vec<f32> = if len == 0 {
        Vec::new()
    } else {
        raw.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?
    };
    let mut dataset_index = vec![0i64; cap];
    let mut as_enqueued = vec![0f32; cap * dim];
    for (p, &index) in indices.iter().enumerate() {
        let slot = if filled { (write + p) % cap } else { p };
        dataset_index[slot] = index;
        as_enqueued[slot * dim..(slot + 1) * dim].copy_from_slice(&raw[p * dim..(p + 1) * dim]);
    }
    let cpu = Device::Cpu;
    memory.insert(
        "provenance.dataset_index".into(),
        Tensor::from_vec(dataset_index, cap, &cpu)?,
    );
    // The old table kept no seeds: mark the entries as not augmented.
    memory.insert(
        "provenance.augmentation_seed".into(),
        Tensor::full(NO_AUGMENTATION as i64, cap, &cpu)?,
    );
    memory.insert(
        "provenance.as_enqueued".into(),
        Tensor::from_vec(as_enqueued, (cap, dim), &cpu)?,
    );
    Ok(memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old `memory.*` part of a full memory of 3 slots, next written at position 1: FIFO
    /// order is slots 1, 2, 0.
    fn full_old_queue(cpu: &Device) -> HashMap<String, Tensor> {
        let mut memory = HashMap::new();
        memory.insert(
            "embeddings".into(),
            Tensor::zeros((3, 2), DType::F32, cpu).unwrap(),
        );
        memory.insert("write_position".into(), Tensor::new(&[1i64], cpu).unwrap());
        memory.insert("filled".into(), Tensor::new(&[1u8], cpu).unwrap());
        memory
    }

    #[test]
    fn the_old_table_lands_in_the_slots_of_its_entries() {
        let cpu = Device::Cpu;
        let memory = full_old_queue(&cpu);
        let mut ledger = HashMap::new();
        ledger.insert(
            "indices".into(),
            Tensor::new(&[10i64, 11, 12], &cpu).unwrap(),
        );
        ledger.insert(
            "raw".into(),
            Tensor::new(&[[1f32, 1.], [2., 2.], [3., 3.]], &cpu).unwrap(),
        );
        let mut norm = HashMap::new();
        norm.insert("initialized".into(), Tensor::new(&[0u8], &cpu).unwrap());
        let state = legacy_memory_state(memory, &norm, &ledger, 7, true).unwrap();
        let idx = state["provenance.dataset_index"].to_vec1::<i64>().unwrap();
        assert_eq!(idx, vec![12, 10, 11]);
        let raw = state["provenance.as_enqueued"].to_vec2::<f32>().unwrap();
        assert_eq!(raw, vec![vec![3., 3.], vec![1., 1.], vec![2., 2.]]);
        assert_eq!(state["iteration"].to_vec1::<i64>().unwrap(), vec![7]);
        assert!(state.contains_key("matcher.initialized"));
        // Without a ledger, a memory that tracks provenance cannot be rebuilt.
        let memory = full_old_queue(&cpu);
        let err = legacy_memory_state(memory.clone(), &norm, &HashMap::new(), 7, true).unwrap_err();
        assert!(err.to_string().contains("measure_drift"), "{err}");
        // A table that does not cover every stored entry is refused, naming both sizes.
        let mut short = HashMap::new();
        short.insert("indices".into(), Tensor::new(&[10i64, 11], &cpu).unwrap());
        short.insert(
            "raw".into(),
            Tensor::zeros((2, 2), DType::F32, &cpu).unwrap(),
        );
        let err = legacy_memory_state(memory, &norm, &short, 7, true).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("2 entries") && text.contains("memory of 3"),
            "{text}"
        );
    }
}
