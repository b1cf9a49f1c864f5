//! Trainable layers, backbones and optimizers for xbn, on candle.
//!
//! - [`kernels`]: convolution, BatchNorm (+ ReLU) and max pooling as candle custom ops with
//!   their own forward and backward, fast on the CPU (tiled im2col into `gemm`, parallel over the
//!   batch; fused statistics and normalization passes) and keeping only what backward needs.
//! - [`model`]: the backbones (small CNN, ResNet-50) built from those layers, their weight
//!   loading and an inference mode that records no autograd graph.
//! - [`optim`]: AdamW and SGD over named parameter groups, learning-rate schedules.
//!
//! This crate depends on `xbn-core` only; the trainer (`xbn-train`) depends on it.

pub mod kernels;
pub mod model;
pub mod optim;
pub mod runtime;
