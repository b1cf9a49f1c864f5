//! A minimal device-resident FIFO memory of embeddings and labels (oldest row first), used by
//! the trainer's objective.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::error::{Result, TrainError};

/// FIFO of at most `capacity` rows of dimension `dim`, oldest first.
#[derive(Debug, Clone)]
pub struct Fifo {
    capacity: usize,
    dim: usize,
    embeddings: Option<Tensor>,
    labels: Vec<i64>,
}

impl Fifo {
    /// An empty memory.
    pub fn new(capacity: usize, dim: usize) -> Self {
        Self {
            capacity,
            dim,
            embeddings: None,
            labels: Vec::new(),
        }
    }

    /// Capacity `m_max`.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the memory is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Drops every row.
    pub fn clear(&mut self) {
        self.embeddings = None;
        self.labels.clear();
    }

    /// The `(n × d)` rows, oldest first; `None` when empty.
    pub fn embeddings(&self) -> Option<Tensor> {
        self.embeddings.clone()
    }

    /// The labels, oldest first.
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// Appends `z (b × d)` with `labels`, dropping the oldest rows beyond the capacity.
    pub fn push(&mut self, z: &Tensor, labels: &[i64]) -> Result<()> {
        let (b, d) = z.dims2()?;
        if d != self.dim || b != labels.len() {
            return Err(TrainError::Component {
                what: "memory",
                message: format!(
                    "enqueue of shape {:?} with {} labels into a memory of dimension {}",
                    z.dims(),
                    labels.len(),
                    self.dim
                ),
            });
        }
        let all = match &self.embeddings {
            Some(m) => Tensor::cat(&[m, &z.detach()], 0)?,
            None => z.detach(),
        };
        self.labels.extend_from_slice(labels);
        let n = self.labels.len();
        let keep = n.min(self.capacity);
        let all = if keep < n {
            self.labels.drain(..n - keep);
            all.narrow(0, n - keep, keep)?.contiguous()?
        } else {
            all
        };
        self.embeddings = if keep == 0 { None } else { Some(all) };
        Ok(())
    }

    /// Replaces the rows by their adapted version `m̂` (same shape).
    pub fn replace(&mut self, adapted: Tensor) -> Result<()> {
        let ok = self
            .embeddings
            .as_ref()
            .is_some_and(|m| m.dims() == adapted.dims());
        if !ok {
            return Err(TrainError::Component {
                what: "memory",
                message: format!("adapted memory has shape {:?}", adapted.dims()),
            });
        }
        self.embeddings = Some(adapted.detach());
        Ok(())
    }

    /// The rows at `positions` (0 = oldest).
    pub fn rows(&self, positions: &[usize]) -> Result<Tensor> {
        let m = self
            .embeddings
            .as_ref()
            .ok_or_else(|| TrainError::Component {
                what: "memory",
                message: "the memory is empty".into(),
            })?;
        let idx: Vec<u32> = positions.iter().map(|&p| p as u32).collect();
        let idx = Tensor::from_vec(idx, positions.len(), m.device())?;
        Ok(m.index_select(&idx, 0)?)
    }

    /// `embeddings (n × d)` and `labels (n)` for a checkpoint.
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        let n = self.len();
        let mut map = HashMap::new();
        let emb = match &self.embeddings {
            Some(m) => m.to_device(&Device::Cpu)?,
            None => Tensor::zeros((0, self.dim), DType::F32, &Device::Cpu)?,
        };
        map.insert("embeddings".into(), emb);
        map.insert(
            "labels".into(),
            Tensor::from_slice(&self.labels, n, &Device::Cpu)?,
        );
        Ok(map)
    }

    /// Restores what [`Fifo::state`] saved, onto `device`.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>, device: &Device) -> Result<()> {
        let bad = |m: String| TrainError::Component {
            what: "memory",
            message: m,
        };
        let emb = state
            .get("embeddings")
            .ok_or_else(|| bad("checkpoint lacks `memory.embeddings`".into()))?;
        let labels: Vec<i64> = state
            .get("labels")
            .ok_or_else(|| bad("checkpoint lacks `memory.labels`".into()))?
            .to_dtype(DType::I64)?
            .to_vec1()?;
        let (n, d) = emb.dims2()?;
        if n != labels.len() || d != self.dim || n > self.capacity {
            return Err(bad(format!(
                "memory of shape {:?} with {} labels does not fit capacity {} × {}",
                emb.dims(),
                labels.len(),
                self.capacity,
                self.dim
            )));
        }
        self.embeddings = if n == 0 {
            None
        } else {
            Some(emb.to_device(device)?)
        };
        self.labels = labels;
        Ok(())
    }
}
