//! The moment-matching interface and the identity (plain XBM) implementation.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::{MomentShift, Result};

/// Transforms a memory of stored embeddings `M (m × d)` given the current batch `Z (b × d)`.
///
/// Implementations: [`Identity`] (plain XBM: `M̂ = M`), [`crate::CrossBatchNorm`] (XBN) and
/// [`crate::AdaptiveCrossBatchNorm`] (adaptive XBN). A matcher that keeps state across
/// iterations (adaptive XBN's filter) saves and restores it through
/// [`MomentMatcher::state_tensors`] and [`MomentMatcher::load_state_tensors`], so a trainer can
/// checkpoint any matcher without knowing its type; `Send` lets a trainer move it between
/// threads.
pub trait MomentMatcher: Send {
    /// Returns the adapted `(m × d)` memory `M̂`. On error nothing in `self` changes.
    fn adapt(&mut self, memory: &Tensor, batch: &Tensor) -> Result<Tensor>;

    /// The moments' shift of the last successful [`MomentMatcher::adapt`] (for logging), or
    /// `None` when there was none, the memory was empty, the matcher does not track it, or the
    /// two scalars could not be read back from the device. Costs a small device-to-host read.
    fn last_shift(&self) -> Option<MomentShift> {
        None
    }

    /// The state carried from one iteration to the next, as named tensors whose keys start with
    /// `prefix` (used verbatim, e.g. `"norm."`). Stateless matchers save nothing (the default).
    fn state_tensors(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        let _ = prefix;
        Ok(HashMap::new())
    }

    /// Restores what [`MomentMatcher::state_tensors`] saved with the same `prefix`, on
    /// `device`. Keys without the prefix are ignored; on error the state is unchanged.
    /// Stateless matchers accept any map (the default).
    fn load_state_tensors(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        device: &Device,
    ) -> Result<()> {
        let _ = (tensors, prefix, device);
        Ok(())
    }
}

/// A boxed matcher is a matcher (the trainer picks one at run time).
impl<M: MomentMatcher + ?Sized> MomentMatcher for Box<M> {
    fn adapt(&mut self, memory: &Tensor, batch: &Tensor) -> Result<Tensor> {
        (**self).adapt(memory, batch)
    }

    fn last_shift(&self) -> Option<MomentShift> {
        (**self).last_shift()
    }

    fn state_tensors(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        (**self).state_tensors(prefix)
    }

    fn load_state_tensors(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        device: &Device,
    ) -> Result<()> {
        (**self).load_state_tensors(tensors, prefix, device)
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
