//! The trainer's side table of the memory: for every entry of the FIFO memory, the dataset
//! index of its image and its embedding as enqueued (before any moment matching). The drift
//! diagnostic needs both to re-embed the same images with the current weights.

use std::collections::{HashMap, VecDeque};

use candle_core::{Device, Tensor};

use crate::error::{Result, TrainError};

/// A FIFO mirror of the memory: oldest entry first, capacity `m_max`.
#[derive(Debug, Clone)]
pub struct MemoryLedger {
    capacity: usize,
    dim: usize,
    items: VecDeque<(u64, Vec<f32>)>,
}

impl MemoryLedger {
    /// An empty ledger for a memory of `capacity` entries of dimension `dim`.
    pub fn new(capacity: usize, dim: usize) -> Self {
        Self {
            capacity,
            dim,
            items: VecDeque::with_capacity(capacity),
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Empties the ledger (the memory was reset, e.g. by a warm start).
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Records the enqueued batch `raw (b × d)` of images `indices`, dropping the oldest
    /// entries beyond the capacity, exactly as the FIFO memory does.
    pub fn push(&mut self, indices: &[usize], raw: &Tensor) -> Result<()> {
        let rows: Vec<Vec<f32>> = raw
            .to_dtype(candle_core::DType::F32)?
            .to_device(&Device::Cpu)?
            .to_vec2()?;
        if rows.len() != indices.len() || rows.iter().any(|r| r.len() != self.dim) {
            return Err(TrainError::Component {
                what: "memory ledger",
                message: format!(
                    "{} indices for embeddings of shape {:?} (d = {})",
                    indices.len(),
                    raw.dims(),
                    self.dim
                ),
            });
        }
        for (i, row) in indices.iter().zip(rows) {
            self.items.push_back((*i as u64, row));
        }
        while self.items.len() > self.capacity {
            self.items.pop_front();
        }
        Ok(())
    }

    /// Dataset index of the entry at `position` (0 = oldest).
    pub fn index_at(&self, position: usize) -> Option<usize> {
        self.items.get(position).map(|(i, _)| *i as usize)
    }

    /// The as-enqueued embeddings of `positions`, `(n × d)`.
    pub fn raw_rows(&self, positions: &[usize], device: &Device) -> Result<Tensor> {
        let mut flat = Vec::with_capacity(positions.len() * self.dim);
        for &p in positions {
            let (_, row) = self.items.get(p).ok_or_else(|| TrainError::Component {
                what: "memory ledger",
                message: format!("position {p} beyond {} entries", self.items.len()),
            })?;
            flat.extend_from_slice(row);
        }
        Ok(Tensor::from_vec(flat, (positions.len(), self.dim), device)?)
    }

    /// The ledger as tensors `indices` (i64, `n`) and `raw` (f32, `n × d`), for checkpoints.
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        let n = self.items.len();
        let idx: Vec<i64> = self.items.iter().map(|(i, _)| *i as i64).collect();
        let flat: Vec<f32> = self
            .items
            .iter()
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        let mut map = HashMap::new();
        map.insert("indices".into(), Tensor::from_vec(idx, n, &Device::Cpu)?);
        map.insert(
            "raw".into(),
            Tensor::from_vec(flat, (n, self.dim), &Device::Cpu)?,
        );
        Ok(map)
    }

    /// Restores a ledger written by [`MemoryLedger::state`].
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        let bad = |m: String| TrainError::Component {
            what: "memory ledger",
            message: m,
        };
        let idx = state
            .get("indices")
            .ok_or_else(|| bad("checkpoint lacks `indices`".into()))?;
        let raw = state
            .get("raw")
            .ok_or_else(|| bad("checkpoint lacks `raw`".into()))?;
        let idx: Vec<i64> = idx.to_dtype(candle_core::DType::I64)?.to_vec1()?;
        let n = idx.len();
        let rows: Vec<Vec<f32>> = if n == 0 {
            Vec::new()
        } else {
            raw.to_dtype(candle_core::DType::F32)?.to_vec2()?
        };
        if rows.len() != n || n > self.capacity || rows.iter().any(|r| r.len() != self.dim) {
            return Err(bad(format!(
                "{n} indices, raw shape {:?}, capacity {}, d = {}",
                raw.dims(),
                self.capacity,
                self.dim
            )));
        }
        self.items = idx.into_iter().map(|i| i as u64).zip(rows).collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_round_trip() {
        let mut l = MemoryLedger::new(3, 2);
        let t = Tensor::new(&[[1f32, 2.], [3., 4.]], &Device::Cpu).unwrap();
        l.push(&[10, 11], &t).unwrap();
        l.push(&[12, 13], &t).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.index_at(0), Some(11));
        assert_eq!(l.index_at(2), Some(13));
        let rows = l.raw_rows(&[0, 1], &Device::Cpu).unwrap();
        assert_eq!(
            rows.to_vec2::<f32>().unwrap(),
            vec![vec![3., 4.], vec![1., 2.]]
        );
        let mut back = MemoryLedger::new(3, 2);
        back.load_state(&l.state().unwrap()).unwrap();
        assert_eq!(back.index_at(1), Some(12));
        assert!(l.push(&[1], &t).is_err());
    }
}
