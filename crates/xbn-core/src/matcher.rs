//! The moment-matching interface and the identity (plain XBM) implementation.

use candle_core::Tensor;

use crate::Result;

/// Transforms a memory of stored embeddings `M (m × d)` given the current batch `Z (b × d)`.
///
/// Implementations: [`Identity`] (plain XBM: `M̂ = M`), XBN and adaptive XBN.
pub trait MomentMatcher {
    /// Returns the adapted `(m × d)` memory `M̂`. On error nothing in `self` changes.
    fn adapt(&mut self, memory: &Tensor, batch: &Tensor) -> Result<Tensor>;
}

/// Plain XBM: the memory is used as stored, `M̂ = M`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl MomentMatcher for Identity {
    fn adapt(&mut self, memory: &Tensor, _batch: &Tensor) -> Result<Tensor> {
        Ok(memory.clone())
    }
}
