//! Layers as candle custom ops with their own forward and backward.
//!
//! candle's autograd keeps every intermediate tensor of a composite op alive until backward, and
//! its CPU convolution backward is slow. The ops here do the work in a few fused passes over
//! contiguous host memory and keep only what their backward needs:
//!
//! | op | forward | backward keeps |
//! |---|---|---|
//! | [`conv2d`] | per-image im2col into `gemm`, parallel over the batch | `x`, `W` |
//! | [`batch_norm2d`] | one statistics pass, one normalization (+ ReLU) pass | `x`, `y`, `γ`, `μ`, `1/σ` |
//! | [`max_pool2d`] | direct window scan | `x`, `y` |
//!
//! The CPU kernels support `f32` and `f64` (the latter for finite-difference tests). On other
//! devices the same functions fall back to differentiable compositions of candle ops (see each
//! function), so every device trains.

mod batch_norm;
mod batch_norm_composed;
mod conv2d;
#[cfg(feature = "cudnn")]
mod conv2d_cudnn;
mod conv2d_unfold;
mod element;
mod gemm;
mod im2col;
mod lanes;
mod max_pool;
mod max_pool_composed;
mod parallel;
mod shared_mut;
mod storage;

pub use batch_norm::{BatchNormOutput, BatchNormStatistics, batch_norm2d, batch_norm2d_add_relu};
pub use conv2d::{Conv2dParams, conv2d};
pub use conv2d_unfold::conv2d_unfold;
pub use element::Element;
pub use max_pool::max_pool2d;
pub(crate) use storage::layout_slice as host_slice;
