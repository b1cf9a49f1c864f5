//! Reductions of per-element losses to a scalar, as PML's reducers.

use candle_core::{DType, Tensor};

use crate::Result;

/// How a loss turns its per-element terms (per pair, per triplet or per anchor) into a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Mean over the elements whose loss is strictly positive (PML `AvgNonZeroReducer`);
    /// 0 when none is.
    AvgNonZero,
    /// Mean over all elements (PML `MeanReducer`); 0 when there are none.
    Mean,
    /// Sum over all elements (PML `SumReducer`).
    Sum,
}

impl Reduction {
    /// Reduces `losses` (any shape; entries outside `valid` must already be 0). `valid` is a 0/1
    /// tensor of the same shape saying which entries are elements (pairs/triplets); `None`
    /// means every entry is one. The element count is not differentiated.
    pub fn reduce(&self, losses: &Tensor, valid: Option<&Tensor>) -> Result<Tensor> {
        let total = losses.sum_all()?;
        let count = match self {
            Reduction::Sum => return Ok(total),
            Reduction::AvgNonZero => host_f64(&losses.gt(0.0)?.to_dtype(DType::F64)?.sum_all()?)?,
            Reduction::Mean => match valid {
                Some(v) => host_f64(&v.sum_all()?)?,
                None => losses.elem_count() as f64,
            },
        };
        Ok(total.affine(1.0 / count.max(1.0), 0.0)?)
    }
}

/// Reads a scalar tensor as f64 on the host.
pub(crate) fn host_f64(x: &Tensor) -> Result<f64> {
    Ok(x.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}
