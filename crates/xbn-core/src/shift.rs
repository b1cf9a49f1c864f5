//! How far the memory's moments were moved by the last adaptation ("moments' shift").

use candle_core::{DType, Tensor};

use crate::Result;

/// The moments' shift of one adaptation, averaged over the `d` dimensions:
///
/// `mean = (1/d) Σ_k |μ_M[k] − μ_T[k]|`,
/// `log_std = (1/d) Σ_k |log σ_M[k] − log σ_T[k]|` with `σ = sqrt(σ² + ε)`,
///
/// where `(μ_M, σ²_M)` are the memory's moments before the adaptation and `(μ_T, σ²_T)` the
/// target moments it was matched to (batch moments for XBN, filtered ones for adaptive XBN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentShift {
    /// Mean absolute shift of the per-dimension means.
    pub mean: f64,
    /// Mean absolute shift of the per-dimension log standard deviations.
    pub log_std: f64,
}

/// The per-dimension moments of one adaptation, kept on the device so that the shift is only
/// brought to the host when someone asks for it.
#[derive(Debug, Clone)]
pub(crate) struct ShiftRecord {
    pub memory_mean: Tensor,
    pub memory_var: Tensor,
    pub target_mean: Tensor,
    pub target_var: Tensor,
    pub eps: f64,
}

impl ShiftRecord {
    /// Computes the [`MomentShift`] (two scalars read back from the device).
    pub fn shift(&self) -> Result<MomentShift> {
        let f64s = |t: &Tensor| t.to_dtype(DType::F64);
        let mean = (f64s(&self.memory_mean)? - f64s(&self.target_mean)?)?
            .abs()?
            .mean_all()?
            .to_scalar::<f64>()?;
        let log_std = |v: &Tensor| -> Result<Tensor> {
            Ok(f64s(v)?.affine(1.0, self.eps)?.log()?.affine(0.5, 0.0)?)
        };
        let log_std = (log_std(&self.memory_var)? - log_std(&self.target_var)?)?
            .abs()?
            .mean_all()?
            .to_scalar::<f64>()?;
        Ok(MomentShift { mean, log_std })
    }
}
