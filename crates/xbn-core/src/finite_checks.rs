//! A scope in which the finiteness checks of xbn's libraries are off.
//!
//! Every public entry point of `xbn-core`, `xbn-memory` and `xbn-losses` refuses NaN/±Inf input
//! with an error that names the first bad row and column. Each such check costs one pass over
//! the tensor and one scalar read back to the host, which on a GPU is a synchronization. A
//! training step goes through several entry points with the same batch, so a trainer that checks
//! its embeddings and loss once per step runs the library calls inside [`assume_finite`].

use std::cell::Cell;

thread_local! {
    static ASSUME_FINITE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the finiteness checks of `check_finite` (here and in `xbn-losses`, and so in
/// every matcher, queue and loss) turned off on this thread; they are restored afterwards, also
/// if `f` panics. The caller takes over: non-finite values inside the scope go through
/// unreported (and may end up stored in a memory), so check the results.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[f32::NAN]], &Device::Cpu).unwrap();
/// assert!(xbn_core::check_finite("x", &x).is_err());
/// assert!(xbn_core::assume_finite(|| xbn_core::check_finite("x", &x)).is_ok());
/// assert!(xbn_core::check_finite("x", &x).is_err());
/// ```
pub fn assume_finite<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ASSUME_FINITE.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(ASSUME_FINITE.with(|a| a.replace(true)));
    f()
}

/// Whether finiteness checks run on this thread (false inside [`assume_finite`]).
pub fn finite_checks_enabled() -> bool {
    !ASSUME_FINITE.with(Cell::get)
}
