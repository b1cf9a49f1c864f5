//! Embedding files: safetensors with `embeddings` (f32, `n × d`) and `labels` (i64, `n`), the
//! format `xbn-train eval` reads.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::checkpoint::Checkpoint;
use crate::error::{Result, TrainError};

/// Writes `embeddings` (converted to f32) and `labels` (`n` values) atomically.
pub fn save_embeddings(path: &Path, embeddings: &Tensor, labels: &[i64]) -> Result<()> {
    let (n, _) = embeddings.dims2()?;
    if n != labels.len() {
        return Err(TrainError::RowCount {
            embeddings: n,
            what: "labels",
            count: labels.len(),
        });
    }
    let mut ck = Checkpoint::default();
    ck.tensors.insert(
        "embeddings".into(),
        embeddings.to_dtype(DType::F32)?.to_device(&Device::Cpu)?,
    );
    ck.tensors.insert(
        "labels".into(),
        Tensor::from_slice(labels, labels.len(), &Device::Cpu)?,
    );
    ck.save(path)
}

/// Writes `embeddings` (converted to f32) alone, atomically: embeddings of inputs without
/// labels (`embed --texts`).
pub fn save_unlabelled_embeddings(path: &Path, embeddings: &Tensor) -> Result<()> {
    let mut ck = Checkpoint::default();
    ck.tensors.insert(
        "embeddings".into(),
        embeddings.to_dtype(DType::F32)?.to_device(&Device::Cpu)?,
    );
    ck.save(path)
}

/// Reads an embedding file back: `(embeddings (n × d) f32, labels)`.
pub fn load_embeddings(path: &Path) -> Result<(Tensor, Vec<i64>)> {
    let ck = Checkpoint::load(path, &Device::Cpu)?;
    let missing = |k: &str| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("tensor `{k}` is missing"),
    };
    let emb = ck
        .tensors
        .get("embeddings")
        .ok_or_else(|| missing("embeddings"))?;
    let labels = ck.tensors.get("labels").ok_or_else(|| missing("labels"))?;
    Ok((
        emb.to_dtype(DType::F32)?,
        labels.to_dtype(DType::I64)?.to_vec1()?,
    ))
}
