//! Library side of the `xbn-train` binary: backbones, optimizers, configuration and the
//! training loop, so integration tests can drive them.

pub mod model;
pub mod optim;
