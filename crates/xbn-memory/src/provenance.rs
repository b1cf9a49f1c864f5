//! Per-entry provenance of the memory: the image each entry came from, the seed of the
//! augmentation that image went through, and its embedding as enqueued (before any moment matching). Kept only when asked
//! for (the drift diagnostic re-embeds the same images and compares), on the memory's device,
//! slot-aligned with the queue.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::ring::ring_write;
use crate::{MemoryError, Result};

/// The augmentation seed of entries embedded without augmentation (the evaluation transform,
/// e.g. XBM's warm start); stored as the `i64` with the same bits, −1.
pub const NO_AUGMENTATION: u64 = u64::MAX;

/// Where the rows of one batch came from, given with the batch to
/// [`crate::CrossBatchMemory::update`].
#[derive(Debug, Clone, Copy)]
pub struct BatchProvenance<'a> {
    /// Dataset index of each row's image, `(b,)`, `i64` or `u32`, on any device.
    pub dataset_indices: &'a Tensor,
    /// The seed of the augmentation each row's image went through (the bits of the `u64`, as
    /// `i64`), or [`NO_AUGMENTATION`]'s bits, `(b,)` `i64`, on any device.
    pub augmentation_seeds: &'a Tensor,
}

impl BatchProvenance<'_> {
    /// The `(b,)` `i64` tensor of `seeds` (their bits) for [`BatchProvenance::augmentation_seeds`].
    pub fn seed_tensor(seeds: &[u64], device: &Device) -> Result<Tensor> {
        let bits: Vec<i64> = seeds.iter().map(|&s| s as i64).collect();
        Ok(Tensor::from_vec(bits, seeds.len(), device)?)
    }
}

/// The provenance of every slot: `dataset_index` and `augmentation_seed` `(capacity,)` `i64`
/// (the seed's bits), `as_enqueued` `(capacity × d)`.
#[derive(Debug, Clone)]
pub(crate) struct ProvenanceRing {
    pub dataset_index: Tensor,
    pub augmentation_seed: Tensor,
    pub as_enqueued: Tensor,
}

const KEYS: [&str; 3] = ["dataset_index", "augmentation_seed", "as_enqueued"];

impl ProvenanceRing {
    pub fn new(capacity: usize, dim: usize, dtype: DType, device: &Device) -> Result<Self> {
        Ok(Self {
            dataset_index: Tensor::zeros(capacity, DType::I64, device)?,
            augmentation_seed: Tensor::zeros(capacity, DType::I64, device)?,
            as_enqueued: Tensor::zeros((capacity, dim), dtype, device)?,
        })
    }

    /// Checks `p` against a batch of `rows` rows before anything is written.
    pub fn check(p: &BatchProvenance<'_>, rows: usize) -> Result<()> {
        let idx = p.dataset_indices;
        if idx.dims() != [rows] || !matches!(idx.dtype(), DType::I64 | DType::U32) {
            return Err(MemoryError::Provenance(format!(
                "dataset indices of shape {:?} and dtype {:?} for a batch of {rows} rows \
                 (expected ({rows},) i64 or u32)",
                idx.dims(),
                idx.dtype()
            )));
        }
        let seeds = p.augmentation_seeds;
        if seeds.dims() != [rows] || seeds.dtype() != DType::I64 {
            return Err(MemoryError::Provenance(format!(
                "augmentation seeds of shape {:?} and dtype {:?} for a batch of {rows} rows \
                 (expected ({rows},) i64)",
                seeds.dims(),
                seeds.dtype()
            )));
        }
        Ok(())
    }

    /// Records the batch `embeddings` (as enqueued) and `p` at the queue rows `rows` (the
    /// queue's `last_enqueued_rows` after the enqueue: consecutive ring slots, `None` for rows
    /// the queue dropped).
    pub fn write(
        &self,
        rows: &[Option<usize>],
        embeddings: &Tensor,
        p: &BatchProvenance<'_>,
    ) -> Result<()> {
        let skip = rows.iter().take_while(|r| r.is_none()).count();
        let Some(&Some(start)) = rows.get(skip) else {
            return Ok(());
        };
        let kept = rows.len() - skip;
        let dev = self.as_enqueued.device();
        let idx = p
            .dataset_indices
            .narrow(0, skip, kept)?
            .to_device(dev)?
            .to_dtype(DType::I64)?
            .copy()?;
        let seeds = p
            .augmentation_seeds
            .narrow(0, skip, kept)?
            .to_device(dev)?
            .copy()?;
        let emb = embeddings
            .narrow(0, skip, kept)?
            .to_device(dev)?
            .to_dtype(self.as_enqueued.dtype())?
            .copy()?;
        ring_write(&self.dataset_index, &idx, start)?;
        ring_write(&self.augmentation_seed, &seeds, start)?;
        ring_write(&self.as_enqueued, &emb, start)?;
        Ok(())
    }

    pub fn to_tensors(&self, prefix: &str) -> HashMap<String, Tensor> {
        KEYS.iter()
            .zip([
                &self.dataset_index,
                &self.augmentation_seed,
                &self.as_enqueued,
            ])
            .map(|(k, t)| (format!("{prefix}{k}"), t.clone()))
            .collect()
    }

    /// Restores a ring written by [`ProvenanceRing::to_tensors`] for a queue of `capacity`
    /// entries of dimension `dim` stored as `dtype`.
    pub fn from_tensors(
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        (capacity, dim, dtype): (usize, usize, DType),
        device: &Device,
    ) -> Result<Self> {
        let get = |name: &str, dims: &[usize], want: DType| -> Result<Tensor> {
            let key = format!("{prefix}{name}");
            let t = tensors.get(&key).ok_or_else(|| {
                MemoryError::State(format!(
                    "missing tensor `{key}` (the per-entry provenance the drift diagnostic needs)"
                ))
            })?;
            if t.dims() != dims {
                return Err(MemoryError::State(format!(
                    "`{key}` has shape {:?}; expected {dims:?}",
                    t.dims()
                )));
            }
            Ok(t.to_device(device)?.to_dtype(want)?.copy()?)
        };
        Ok(Self {
            dataset_index: get(KEYS[0], &[capacity], DType::I64)?,
            augmentation_seed: get(KEYS[1], &[capacity], DType::I64)?,
            as_enqueued: get(KEYS[2], &[capacity, dim], dtype)?,
        })
    }
}
