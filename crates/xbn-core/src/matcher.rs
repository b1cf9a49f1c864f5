//! The moment-matching interface and the identity (plain XBM) implementation.

use candle_core::Tensor;

use crate::{MomentShift, Result};

/// Transforms a memory of stored embeddings `M (m × d)` given the current batch `Z (b × d)`.
///
/// Implementations: [`Identity`] (plain XBM: `M̂ = M`), [`crate::CrossBatchNorm`] (XBN) and
/// [`crate::AdaptiveCrossBatchNorm`] (adaptive XBN).
pub trait MomentMatcher {
    /// Returns the adapted `(m × d)` memory `M̂`. On error nothing in `self` changes.
    fn adapt(&mut self, memory: &Tensor, batch: &Tensor) -> Result<Tensor>;

    /// The moments' shift of the last successful [`MomentMatcher::adapt`] (for logging), or
    /// `None` when there was none, the memory was empty, the matcher does not track it, or the
    /// two scalars could not be read back from the device. Costs a small device-to-host read.
    fn last_shift(&self) -> Option<MomentShift> {
        None
    }
}

/// Plain XBM: the memory is used as stored, `M̂ = M`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use xbn_core::{Identity, MomentMatcher};
/// let m = Tensor::ones((4, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
/// let z = Tensor::zeros((3, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
/// let out = Identity.adapt(&m, &z).unwrap();
/// assert_eq!(out.to_vec2::<f32>().unwrap(), m.to_vec2::<f32>().unwrap());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl MomentMatcher for Identity {
    fn adapt(&mut self, memory: &Tensor, _batch: &Tensor) -> Result<Tensor> {
        Ok(memory.clone())
    }
}
