//! Embeddings as NumPy `.npy` files for numpy and faiss users: `X.npy` (f32 `n × d`) and,
//! when labels are known, `X_labels.npy` (i64 `n`) beside it ([`xbn_eval::npy_labels_path`]),
//! the layout `xbn-train eval` reads back.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::checkpoint::atomic::temp_path;
use crate::error::{Result, TrainError};

/// Whether `path` names a `.npy` file (case-insensitive).
pub fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Writes `tensor` to `path` as `.npy`, atomically (a temporary file renamed over `path`).
pub fn write_npy(path: &Path, tensor: &Tensor) -> Result<()> {
    let tmp = temp_path(path);
    let result = tensor
        .to_device(&Device::Cpu)?
        .contiguous()?
        .write_npy(&tmp)
        .map_err(TrainError::from)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e)));
    if result.is_err() {
        // Best effort: the temporary file is garbage; `path` was never touched.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `embeddings` (as f32) to `path` and, when given, `labels` to
/// [`xbn_eval::npy_labels_path`]`(path)`; returns the files written.
pub fn save_embeddings_npy(
    path: &Path,
    embeddings: &Tensor,
    labels: Option<&[i64]>,
) -> Result<Vec<PathBuf>> {
    let (n, _) = embeddings.dims2()?;
    write_npy(path, &embeddings.to_dtype(DType::F32)?)?;
    let mut written = vec![path.to_path_buf()];
    if let Some(labels) = labels {
        if labels.len() != n {
            return Err(TrainError::RowCount {
                embeddings: n,
                what: "labels",
                count: labels.len(),
            });
        }
        let lp = xbn_eval::npy_labels_path(path);
        write_npy(&lp, &Tensor::from_slice(labels, n, &Device::Cpu)?)?;
        written.push(lp);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_and_labels_read_back_through_xbn_eval() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.NPY");
        assert!(is_npy(&p));
        let e = Tensor::new(&[[0.6f32, 0.8], [1.0, 0.0], [0.0, 1.0]], &Device::Cpu).unwrap();
        let written = save_embeddings_npy(&p, &e, Some(&[7, 7, 9])).unwrap();
        assert_eq!(written, vec![p.clone(), dir.path().join("e_labels.npy")]);
        let back = xbn_eval::load_embeddings(&p, None, &Device::Cpu).unwrap();
        assert_eq!(back.labels, vec![7, 7, 9]);
        assert_eq!(
            back.embeddings.to_vec2::<f32>().unwrap(),
            e.to_vec2::<f32>().unwrap()
        );
        let wrong = save_embeddings_npy(&p, &e, Some(&[1])).unwrap_err();
        assert!(
            wrong.to_string().contains("3 embeddings but 1 labels"),
            "{wrong}"
        );
    }
}
