//! Saving and restoring an [`EmbeddingQueue`] (safetensors file, or a tensor map that a
//! training checkpoint embeds under a key prefix).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::{EmbeddingQueue, MemoryError, Result};

impl EmbeddingQueue {
    /// The queue as named tensors: `{prefix}embeddings` (`capacity × d`, all slots),
    /// `{prefix}labels` and `{prefix}iterations` (`(capacity,)` i64), `{prefix}write_position`
    /// (i64 `[1]`) and `{prefix}filled` (u8 `[1]`). The prefix is used verbatim (e.g.
    /// `"memory."`). [`EmbeddingQueue::last_enqueued_rows`] is not saved.
    pub fn to_tensors(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        let cpu = Device::Cpu;
        let mut map = HashMap::new();
        map.insert(format!("{prefix}embeddings"), self.embeddings.clone());
        map.insert(format!("{prefix}labels"), self.labels.clone());
        map.insert(format!("{prefix}iterations"), self.iterations.clone());
        map.insert(
            format!("{prefix}write_position"),
            Tensor::new(&[self.write_position as i64], &cpu)?,
        );
        map.insert(
            format!("{prefix}filled"),
            Tensor::new(&[u8::from(self.filled)], &cpu)?,
        );
        Ok(map)
    }

    /// Rebuilds a queue on `device` from tensors written by [`EmbeddingQueue::to_tensors`] with
    /// the same `prefix` (other keys are ignored). Checks every shape, dtype and value.
    pub fn from_tensors(
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        device: &Device,
    ) -> Result<Self> {
        let get = |name: &str| -> Result<&Tensor> {
            tensors
                .get(&format!("{prefix}{name}"))
                .ok_or_else(|| MemoryError::State(format!("missing tensor `{prefix}{name}`")))
        };
        let bad = |name: &str, t: &Tensor, want: String| {
            MemoryError::State(format!(
                "`{prefix}{name}` has shape {:?} dtype {:?}; expected {want}",
                t.dims(),
                t.dtype()
            ))
        };
        let emb = get("embeddings")?;
        let cap = match emb.dims() {
            &[c, d] if c >= 1 && d >= 1 => c,
            _ => return Err(bad("embeddings", emb, "(capacity × d)".into())),
        };
        xbn_core::check_finite("saved embeddings", emb)?;
        let vector = |name: &str| -> Result<Tensor> {
            let t = get(name)?;
            if t.dims() != [cap] || t.dtype() != DType::I64 {
                return Err(bad(name, t, format!("({cap},) I64")));
            }
            Ok(t.to_device(device)?)
        };
        let scalar = |name: &str, dtype: DType| -> Result<i64> {
            let t = get(name)?;
            if t.dims() != [1] || t.dtype() != dtype {
                return Err(bad(name, t, format!("[1] {dtype:?}")));
            }
            Ok(t.to_dtype(DType::I64)?.to_vec1::<i64>()?[0])
        };
        let labels = vector("labels")?;
        let iterations = vector("iterations")?;
        let pos = scalar("write_position", DType::I64)?;
        let write_position = usize::try_from(pos)
            .ok()
            .filter(|&p| p < cap)
            .ok_or_else(|| {
                MemoryError::State(format!(
                    "`{prefix}write_position` = {pos}, outside 0..{cap}"
                ))
            })?;
        let filled = match scalar("filled", DType::U8)? {
            0 => false,
            1 => true,
            v => {
                return Err(MemoryError::State(format!(
                    "`{prefix}filled` = {v} (must be 0 or 1)"
                )));
            }
        };
        xbn_core::stat_dtype("saved embeddings", emb.dtype())?;
        Ok(Self {
            embeddings: emb.to_device(device)?.copy()?,
            labels: labels.copy()?,
            iterations: iterations.copy()?,
            write_position,
            filled,
            last_rows: Vec::new(),
        })
    }

    /// Writes the queue to a safetensors file (keys of [`EmbeddingQueue::to_tensors`] with an
    /// empty prefix).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        candle_core::safetensors::save(&self.to_tensors("")?, path)?;
        Ok(())
    }

    /// Reads a queue written by [`EmbeddingQueue::save`] onto `device`.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        let tensors = candle_core::safetensors::load(path, device)
            .map_err(|e| MemoryError::State(format!("cannot read `{}`: {e}", path.display())))?;
        Self::from_tensors(&tensors, "", device)
    }
}
