//! # xbn-core
//!
//! Moment matching for a cross-batch embedding memory, on [candle](https://github.com/huggingface/candle)
//! tensors (CPU, CUDA or Metal).
//!
//! Implements the method of *Adaptive Cross Batch Normalization for Metric Learning*
//! (Ajanthan, Ma, van den Hengel, Gould; arXiv 2303.17127): stored embeddings computed with
//! older weights are transformed so that their per-dimension mean and variance match those of
//! the current minibatch (XBN, [`CrossBatchNorm`]), optionally with the target moments
//! estimated by a Kalman filter (adaptive XBN, [`AdaptiveCrossBatchNorm`]). The equations are
//! numbered in `docs/method.md` of the repository; every item names the ones it implements.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use xbn_core::{CrossBatchNorm, MomentMatcher, XbnConfig};
//! let dev = Device::Cpu;
//! let memory = Tensor::randn(0f32, 1.0, (128, 16), &dev).unwrap();
//! let batch = Tensor::randn(1f32, 0.5, (8, 16), &dev).unwrap();
//! let mut xbn = CrossBatchNorm::new(XbnConfig::default()).unwrap();
//! let adapted = xbn.adapt(&memory, &batch).unwrap(); // (128 × 16), rows of unit norm
//! assert_eq!(adapted.dims(), &[128, 16]);
//! ```

mod axbn;
mod cpu_kernels;
mod error;
mod finite_checks;
mod kalman;
mod kalman_trend;
mod matcher;
mod matching;
mod moments;
mod shift;
mod state_io;
#[cfg(feature = "test-util")]
pub mod test_util;
mod validate;
mod xbn;

pub use axbn::{AdaptiveCrossBatchNorm, AxbnConfig, DEFAULT_DRIFT_RATE};
pub use error::{Result, XbnError};
pub use finite_checks::{assume_finite, finite_checks_enabled};
pub use kalman::{FilterState, ObservationNoise};
pub use kalman_trend::TrendState;
pub use matcher::{Identity, MomentMatcher};
pub use matching::{NORM_FLOOR, l2_normalize_rows};
pub use moments::{Moments, moments};
pub use shift::MomentShift;
pub use validate::{check_finite, stat_dtype};
pub use xbn::{CrossBatchNorm, XbnConfig};
