//! Layers as candle custom ops with their own forward and backward, on **channels-last**
//! tensors `(N, H, W, C)`.
//!
//! candle's autograd keeps every intermediate tensor of a composite op alive until backward, and
//! its CPU convolution backward is slow. The ops here do the work in a few fused passes over
//! contiguous host memory and keep only what their backward needs:
//!
//! | op | forward | backward keeps |
//! |---|---|---|
//! | [`conv2d`] | im2col per tile of images into `gemm` (none for 1×1 stride 1), tiles in parallel | `x`, `W` |
//! | [`batch_norm2d`] | one statistics pass, one normalization (+ ReLU) pass | `x`, `y`, `γ`, `μ`, `1/σ` |
//! | [`max_pool2d`] | direct window scan along the channels | `x`, `y` |
//!
//! Channels-last was chosen by measurement (`examples/layout_compare.rs` for the convolution
//! forward, `benches/train_step.rs` for whole steps, `docs/benchmarks.md`): each patch row is
//! `kh·kw` contiguous runs of `C` values, a matrix product's output is already the next layer's
//! input, and per-channel reductions run along contiguous memory even on 2×2 maps. Weights keep
//! PyTorch's `(O, C, kh, kw)`; [`to_channels_last`] and [`to_channels_first`] convert
//! activations.
//!
//! The CPU kernels support `f32` and `f64` (the latter for finite-difference tests). On other
//! devices the same functions fall back to differentiable compositions of candle ops (see each
//! function), so every device trains.

mod batch_norm;
mod batch_norm_composed;
mod channel_sums;
mod conv2d;
#[cfg(feature = "cudnn")]
mod conv2d_cudnn;
mod conv2d_host;
mod conv2d_unfold;
mod element;
mod gelu;
mod gemm;
mod im2col;
mod layer_norm;
mod layout;
mod max_pool;
mod max_pool_composed;
mod parallel;
mod rows;
mod softmax;
mod storage;

pub use batch_norm::{BatchNormOutput, BatchNormStatistics, batch_norm2d, batch_norm2d_add_relu};
pub use conv2d::{Conv2dParams, conv2d};
pub use conv2d_unfold::conv2d_unfold;
pub use element::Element;
pub(crate) use element::with_element;
pub use gelu::gelu_erf;
pub use layer_norm::{layer_norm, layer_norm_composed};
pub use layout::{to_channels_first, to_channels_last};
pub use max_pool::max_pool2d;
pub use softmax::softmax_last_dim;
pub(crate) use storage::layout_slice as host_slice;
