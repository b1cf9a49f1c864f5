//! # xbn-core
//!
//! Moment matching for a cross-batch embedding memory, on [candle](https://github.com/huggingface/candle)
//! tensors (CPU, CUDA or Metal).
//!
//! Implements the method of *Adaptive Cross Batch Normalization for Metric Learning*
//! (Ajanthan, Ma, van den Hengel, Gould; arXiv 2303.17127): stored embeddings computed with
//! older weights are transformed so that their per-dimension mean and variance match those of
//! the current minibatch (XBN), optionally with the target moments estimated by a Kalman filter
//! (adaptive XBN).

pub mod device;
pub mod error;
pub mod matcher;

pub use device::{parse_device, test_device};
pub use error::{Result, XbnError};
pub use matcher::{Identity, MomentMatcher};
