//! Input checks shared by the moment matchers: rank, emptiness, dtype and finiteness.

use candle_core::{DType, Tensor};

use crate::{Result, XbnError};

/// The dtype statistics are accumulated in for an input of dtype `dtype`:
/// `f64` stays `f64`; `f32`, `f16` and `bf16` accumulate in `f32`.
///
/// ```
/// use candle_core::DType;
/// assert_eq!(xbn_core::stat_dtype("x", DType::F16).unwrap(), DType::F32);
/// assert_eq!(xbn_core::stat_dtype("x", DType::F64).unwrap(), DType::F64);
/// assert!(xbn_core::stat_dtype("x", DType::U32).is_err());
/// ```
pub fn stat_dtype(what: &'static str, dtype: DType) -> Result<DType> {
    match dtype {
        DType::F64 => Ok(DType::F64),
        DType::F32 | DType::F16 | DType::BF16 => Ok(DType::F32),
        dtype => Err(XbnError::UnsupportedDType { what, dtype }),
    }
}

/// Checks that `x` is a rank-2 `(n × d)` floating-point tensor and returns `(n, d)`.
/// `n = 0` is allowed here; callers that need rows check it themselves.
pub fn check_matrix(what: &'static str, x: &Tensor) -> Result<(usize, usize)> {
    let (n, d) = x.dims2().map_err(|_| XbnError::WrongRank {
        what,
        shape: x.dims().to_vec(),
    })?;
    stat_dtype(what, x.dtype())?;
    Ok((n, d))
}

/// Checks that `x` has at least one row.
pub fn check_nonempty(what: &'static str, x: &Tensor) -> Result<()> {
    if x.dims().first().copied().unwrap_or(0) == 0 {
        return Err(XbnError::Empty {
            what,
            shape: x.dims().to_vec(),
        });
    }
    Ok(())
}

/// Finds the non-finite entries of the `(n × d)` tensor `x` (host copy; error path only) and
/// returns the [`XbnError::NonFinite`] error naming the first one, or `None` when all are finite.
pub fn locate_non_finite(what: &'static str, x: &Tensor) -> Result<Option<XbnError>> {
    let rows = x.to_dtype(DType::F64)?.to_vec2::<f64>()?;
    let mut count = 0usize;
    let mut first = None;
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_finite() {
                count += 1;
                first.get_or_insert((r, c));
            }
        }
    }
    Ok(first.map(|(row, col)| XbnError::NonFinite {
        what,
        count,
        row,
        col,
    }))
}

/// Returns an error when `x` holds a NaN or ±Inf. Costs one pass and one scalar host read;
/// inside [`crate::assume_finite`] only the rank and dtype are checked.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[1.0f32, f32::NAN]], &Device::Cpu).unwrap();
/// let err = xbn_core::check_finite("batch", &x).unwrap_err();
/// assert!(err.to_string().contains("row 0, column 1"));
/// ```
pub fn check_finite(what: &'static str, x: &Tensor) -> Result<()> {
    check_matrix(what, x)?;
    if !crate::finite_checks_enabled() {
        return Ok(());
    }
    // 0·x is 0 for finite x and NaN for ±Inf/NaN, so the sum is finite iff every entry is.
    let probe = x
        .to_dtype(stat_dtype(what, x.dtype())?)?
        .affine(0.0, 0.0)?
        .sum_all()?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;
    if probe.is_finite() {
        return Ok(());
    }
    match locate_non_finite(what, x)? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
