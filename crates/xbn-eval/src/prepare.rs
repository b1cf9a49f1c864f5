//! Input checks and conversion of embeddings into the space where neighbours are ranked.

use candle_core::{DType, Storage, Tensor};

use crate::{EvalError, Metric, Result};

/// Runs `f` on the tensor's f32 values in row-major order: borrowed in place for a contiguous
/// CPU tensor, copied to the host otherwise.
pub(crate) fn with_host_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets()) {
            let all = cpu.as_slice::<f32>()?;
            return Ok(f(&all[start..end]));
        }
    }
    let host = t.flatten_all()?.to_vec1::<f32>()?;
    Ok(f(&host))
}

/// Checks that `t` is a non-empty `(n × d)` floating-point tensor of finite values and returns
/// it as contiguous f32 on its device.
pub(crate) fn embeddings_f32(t: &Tensor, what: &str) -> Result<Tensor> {
    let shape = t.dims().to_vec();
    if shape.len() != 2 {
        return Err(EvalError::WrongRank {
            what: what.into(),
            expected: 2,
            shape,
        });
    }
    if shape[0] == 0 || shape[1] == 0 {
        return Err(EvalError::Empty {
            what: what.into(),
            shape,
        });
    }
    if shape[0] > u32::MAX as usize {
        return Err(EvalError::TooManyRows {
            what: what.into(),
            rows: shape[0],
            max: u32::MAX as usize,
        });
    }
    match t.dtype() {
        DType::F32 | DType::F64 | DType::F16 | DType::BF16 => {}
        other => {
            return Err(EvalError::WrongDType {
                what: what.into(),
                dtype: format!("{other:?}"),
                expected: "f32 (or f64, f16, bf16)",
            });
        }
    }
    let x = t.to_dtype(DType::F32)?.contiguous()?;
    let d = shape[1];
    let (count, first) = with_host_f32(&x, |v| {
        let mut count = 0usize;
        let mut first = None;
        for (i, s) in v.iter().enumerate() {
            if !s.is_finite() {
                count += 1;
                first.get_or_insert(i);
            }
        }
        (count, first)
    })?;
    if let Some(i) = first {
        return Err(EvalError::NonFinite {
            what: what.into(),
            count,
            row: i / d,
            col: i % d,
        });
    }
    Ok(x)
}

/// Checks that `t` is a rank-1 integer tensor of `n` labels and copies it to the host as i64.
pub(crate) fn labels_i64(t: &Tensor, what: &str, n: usize) -> Result<Vec<i64>> {
    if t.rank() != 1 {
        return Err(EvalError::WrongRank {
            what: what.into(),
            expected: 1,
            shape: t.dims().to_vec(),
        });
    }
    let labels = match t.dtype() {
        DType::I64 => t.to_vec1::<i64>()?,
        DType::U32 => t.to_vec1::<u32>()?.into_iter().map(i64::from).collect(),
        DType::U8 => t.to_vec1::<u8>()?.into_iter().map(i64::from).collect(),
        DType::I32 => t.to_vec1::<i32>()?.into_iter().map(i64::from).collect(),
        DType::I16 => t.to_vec1::<i16>()?.into_iter().map(i64::from).collect(),
        other => {
            return Err(EvalError::WrongDType {
                what: what.into(),
                dtype: format!("{other:?}"),
                expected: "an integer type (i64, i32, i16, u32, u8)",
            });
        }
    };
    if labels.len() != n {
        return Err(EvalError::LengthMismatch {
            what: what.into(),
            embeddings: n,
            labels: labels.len(),
        });
    }
    Ok(labels)
}

/// Maps checked f32 embeddings into ranking space: unit rows for [`Metric::Cosine`]
/// (`x / ‖x‖₂`, an all-zero row is an error), the rows unchanged for [`Metric::Euclidean`].
pub(crate) fn ranking_space(x: &Tensor, metric: Metric, what: &str) -> Result<Tensor> {
    match metric {
        Metric::Euclidean => Ok(x.clone()),
        Metric::Cosine => {
            let norms = x.sqr()?.sum_keepdim(1)?.sqrt()?;
            let zero = with_host_f32(&norms, |v| v.iter().position(|&n| n == 0.0))?;
            if let Some(row) = zero {
                return Err(EvalError::ZeroNorm {
                    what: what.into(),
                    row,
                });
            }
            Ok(x.broadcast_div(&norms)?.contiguous()?)
        }
    }
}

/// The per-reference bias of [`Metric::Euclidean`]: `‖r‖² / 2`, so that ranking by
/// `q·r − ‖r‖²/2` (largest first) is ranking by `‖q − r‖₂` (smallest first).
/// `None` for [`Metric::Cosine`].
pub(crate) fn reference_bias(r: &Tensor, metric: Metric) -> Result<Option<Vec<f32>>> {
    match metric {
        Metric::Cosine => Ok(None),
        Metric::Euclidean => {
            let half = (r.sqr()?.sum(1)? * 0.5)?;
            Ok(Some(half.to_vec1::<f32>()?))
        }
    }
}
