//! A moment matcher shared between the XBM loss (which owns a boxed matcher) and the trainer
//! (which checkpoints the adaptive-XBN filter state).

use std::sync::{Arc, Mutex};

use candle_core::Tensor;
use xbn_core::{AdaptiveCrossBatchNorm, MomentMatcher, MomentShift, XbnError};

/// Adaptive XBN behind a shared lock: one handle goes into `XbmLoss`, the other stays with the
/// trainer for `state_tensors` / `load_state_tensors`.
#[derive(Debug, Clone)]
pub struct SharedAxbn(pub Arc<Mutex<AdaptiveCrossBatchNorm>>);

impl SharedAxbn {
    /// Runs `f` on the matcher.
    pub fn with<R>(&self, f: impl FnOnce(&mut AdaptiveCrossBatchNorm) -> R) -> xbn_core::Result<R> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| XbnError::State("the adaptive XBN lock was poisoned".into()))?;
        Ok(f(&mut guard))
    }
}

impl MomentMatcher for SharedAxbn {
    fn adapt(&mut self, memory: &Tensor, batch: &Tensor) -> xbn_core::Result<Tensor> {
        self.with(|m| m.adapt(memory, batch))?
    }

    fn last_shift(&self) -> Option<MomentShift> {
        self.with(|m| m.last_shift()).ok().flatten()
    }
}
