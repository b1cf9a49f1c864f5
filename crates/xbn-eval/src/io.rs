//! Reading embeddings and labels from safetensors or `.npy` files.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use safetensors::{Dtype, SafeTensors};

use crate::npy::{dims_product_fits, read_npy};
use crate::prepare::{embeddings_f32, labels_i64};
use crate::{EvalError, Result};

/// Embeddings and labels read from files.
#[derive(Debug, Clone)]
pub struct EmbeddingSet {
    /// `(n × d)` f32 embeddings on the requested device.
    pub embeddings: Tensor,
    /// `n` labels.
    pub labels: Vec<i64>,
    /// The embeddings file.
    pub path: PathBuf,
}

/// Reads embeddings and labels, checked (rank, dtype, equal lengths, finite values), with
/// errors that name the file at fault.
///
/// * `X.safetensors`: tensors `embeddings` (f32, or f64/f16/bf16, `(n × d)`) and, unless
///   `labels` is given, `labels` (i64, or another integer type, `(n)`).
/// * `X.npy`: an `(n × d)` float array; labels from `labels` or else `X_labels.npy` beside it.
///   Read by [`crate::read_npy`]: the header's claimed size is checked against the file's
///   before anything of that size is allocated.
/// * `labels`, when given: an `.npy` integer array, or a safetensors file with a `labels`
///   tensor.
pub fn load_embeddings(
    path: &Path,
    labels: Option<&Path>,
    device: &Device,
) -> Result<EmbeddingSet> {
    let what = format!("{}: embeddings", path.display());
    let (raw, file_labels) = match extension(path).as_str() {
        "safetensors" => {
            let bytes = read(path)?;
            let st = deserialize(path, &bytes)?;
            let e = st_tensor(path, &st, "embeddings", device)?;
            let l = match labels {
                Some(_) => None,
                None => Some(st_tensor(path, &st, "labels", &Device::Cpu)?),
            };
            (e, l)
        }
        "npy" => (read_npy(path)?, None),
        other => {
            return Err(EvalError::Format {
                path: path.into(),
                reason: format!("unknown extension `{other}` (expected .safetensors or .npy)"),
            });
        }
    };
    let label_tensor = match (file_labels, labels) {
        (Some(l), _) => l,
        (None, Some(lp)) => read_labels(lp)?,
        (None, None) => read_npy(&npy_labels_path(path))?,
    };
    let labels_what = match labels {
        Some(lp) => format!("{}: labels", lp.display()),
        None if extension(path) == "npy" => format!("{}: labels", npy_labels_path(path).display()),
        None => format!("{}: labels", path.display()),
    };
    let embeddings = embeddings_f32(&raw.to_device(device)?, &what)?;
    let labels = labels_i64(&label_tensor, &labels_what, embeddings.dim(0)?)?;
    Ok(EmbeddingSet {
        embeddings,
        labels,
        path: path.into(),
    })
}

/// The default labels file of `X.npy`: `X_labels.npy` in the same folder.
pub fn npy_labels_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}_labels.npy"))
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.into(),
        source,
    })
}

fn deserialize<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| EvalError::Format {
        path: path.into(),
        reason: format!("not a safetensors file: {e}"),
    })
}

fn read_labels(path: &Path) -> Result<Tensor> {
    if extension(path) == "safetensors" {
        let bytes = read(path)?;
        let st = deserialize(path, &bytes)?;
        st_tensor(path, &st, "labels", &Device::Cpu)
    } else {
        read_npy(path)
    }
}

/// One named tensor of a safetensors file, in a candle dtype.
fn st_tensor(path: &Path, st: &SafeTensors<'_>, name: &str, device: &Device) -> Result<Tensor> {
    let view = st.tensor(name).map_err(|_| EvalError::Format {
        path: path.into(),
        reason: format!("no tensor `{name}` (found: {:?})", st.names()),
    })?;
    let dtype = match view.dtype() {
        Dtype::F32 => DType::F32,
        Dtype::F64 => DType::F64,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::I16 => DType::I16,
        Dtype::U32 => DType::U32,
        Dtype::U8 => DType::U8,
        other => {
            return Err(EvalError::WrongDType {
                what: format!("{}: {name}", path.display()),
                dtype: format!("{other:?}"),
                expected: "f32/f64/f16/bf16 embeddings and integer labels",
            });
        }
    };
    if !dims_product_fits(view.shape()) {
        return Err(EvalError::Format {
            path: path.into(),
            reason: format!(
                "tensor `{name}`: shape {:?}: the product of its dimensions overflows",
                view.shape()
            ),
        });
    }
    Tensor::from_raw_buffer(view.data(), dtype, view.shape(), device).map_err(|e| {
        EvalError::Format {
            path: path.into(),
            reason: format!("tensor `{name}`: {e}"),
        }
    })
}
