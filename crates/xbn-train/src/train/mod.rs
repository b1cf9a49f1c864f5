//! The training job: session (data, model, optimizer, objective, outputs), the loop, evaluation,
//! the drift diagnostic, checkpoints and resume.

pub mod affine_bound;
pub mod batches;
pub mod data;
pub mod drift;
pub mod evaluate;
pub mod images;
mod legacy_checkpoint;
pub mod losses;
pub mod network;
pub mod objective;
pub mod optimizer;
pub mod progress;
pub mod run;
pub mod seeds;
pub mod session;
pub mod state;
pub mod step;
pub mod synthetic;

pub use run::{TrainOutcome, one_line, train};
