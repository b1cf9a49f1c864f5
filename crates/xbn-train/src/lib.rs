//! Library side of the `xbn-train` binary: configuration, the training loop and the commands
//! (backbones and optimizers come from `xbn-nn`), so integration tests can drive them.

pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod device;
pub mod error;
pub mod outputs;
pub mod report;
pub mod run_lock;
pub mod sweep;
pub mod train;

pub use error::{Result, TrainError};
/// The backbones and optimizers live in `xbn-nn`; re-exported for the trainer's users.
pub use xbn_nn::{model, optim};
