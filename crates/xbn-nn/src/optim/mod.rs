//! Optimizers (AdamW, SGD with momentum and weight decay) and learning-rate schedules.
//!
//! Both optimizers take named [`ParamGroup`]s with their own base learning rate and weight
//! decay (backbone, head, loss parameters such as proxies), scale every rate by one factor
//! from an [`LrSchedule`], and export/import their state as a map of tensors so a run resumes
//! exactly from a checkpoint.
//!
//! ```
//! use candle_core::{Device, Tensor, Var};
//! use xbn_nn::optim::{AdamW, AdamWConfig, LrSchedule, Optimizer, ParamGroup};
//!
//! let w = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
//! let group = ParamGroup::new("head", 0.1, 0.0, vec![("w".into(), w.clone())]);
//! let mut opt = AdamW::new(vec![group], AdamWConfig::default())?;
//! let schedule = LrSchedule::constant();
//! for t in 0..3 {
//!     opt.set_lr_factor(schedule.factor(t));
//!     let loss = w.as_tensor().sqr()?.sum_all()?;
//!     opt.step(&loss.backward()?)?;
//! }
//! assert_eq!(opt.state().len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adamw;
mod adamw_cpu;
mod clip;
mod error;
mod group;
mod schedule;
mod sgd;

use std::collections::HashMap;

use candle_core::{Tensor, backprop::GradStore};

pub use adamw::{AdamW, AdamWConfig};
pub use clip::clip_grad_norm;
pub use error::{OptimError, Result};
pub use group::ParamGroup;
pub use schedule::{Decay, LrSchedule};
pub use sgd::{Sgd, SgdConfig};

/// A first-order optimizer over named parameter groups.
pub trait Optimizer: Send {
    /// Updates every parameter that has a gradient in `grads` (others are skipped).
    fn step(&mut self, grads: &GradStore) -> Result<()>;

    /// Sets the factor `f` applied to every group's base rate: `η = η_g · f` (from
    /// [`LrSchedule::factor`]).
    fn set_lr_factor(&mut self, factor: f64);

    /// The current factor `f`.
    fn lr_factor(&self) -> f64;

    /// The parameter groups.
    fn groups(&self) -> &[ParamGroup];

    /// The learning rate of each group at the current factor, by group name.
    fn learning_rates(&self) -> Vec<(String, f64)> {
        let f = self.lr_factor();
        self.groups()
            .iter()
            .map(|g| (g.name.clone(), g.lr * f))
            .collect()
    }

    /// The optimizer state (moments, momentum buffers, step counts) keyed `{param}.{slot}`.
    fn state(&self) -> HashMap<String, Tensor>;

    /// Replaces the state with a saved one: every entry must belong to a parameter of this
    /// optimizer with the parameter's shape; on error the state is unchanged.
    fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()>;
}
