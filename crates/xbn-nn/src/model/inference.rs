//! Inference mode: forward passes that record no autograd graph.
//!
//! candle records an op in the graph whenever one of its inputs is a variable, and every
//! recorded op keeps its inputs alive until the output is dropped. Layers read their parameters
//! through [`param`], which hands out detached views inside [`inference_mode`], so a forward pass
//! there builds no graph and frees each activation once the next layer has consumed it.

use std::cell::Cell;

use candle_core::{Tensor, Var};

thread_local! {
    static INFERENCE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with inference mode on for the current thread (nesting is allowed; the previous
/// mode is restored when `f` returns or panics).
pub fn inference_mode<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            INFERENCE.with(|m| m.set(self.0));
        }
    }
    let _restore = Restore(INFERENCE.with(|m| m.replace(true)));
    f()
}

/// Whether the current thread is inside [`inference_mode`].
pub fn is_inference_mode() -> bool {
    INFERENCE.with(Cell::get)
}

/// A parameter as a layer should use it: the variable itself while training, a detached view
/// (no graph) in inference mode.
pub(crate) fn param(var: &Var) -> Tensor {
    if is_inference_mode() {
        var.as_tensor().detach()
    } else {
        var.as_tensor().clone()
    }
}
