//! Library side of the `xbn-train` binary: backbones, optimizers, configuration and the
//! training loop, so integration tests can drive them.

pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod model;
pub mod optim;
pub mod outputs;
pub mod train;

pub use error::{Result, TrainError};
