//! Cross batch normalization (XBN): match the memory's per-dimension moments to the batch's.

use candle_core::Tensor;

use crate::matching::{match_moments, observe};
use crate::shift::ShiftRecord;
use crate::{MomentMatcher, MomentShift, Result, XbnError};

/// Configuration of [`CrossBatchNorm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XbnConfig {
    /// `ε` added to both variances in the (XBN) map; must be finite and `> 0`. Default `1e-5`.
    pub eps: f64,
    /// L2-normalize the rows of the adapted memory (eq. (R)); use it when the loss works on
    /// unit-norm embeddings. Default `true`.
    pub renormalize: bool,
}

impl Default for XbnConfig {
    fn default() -> Self {
        Self {
            eps: 1e-5,
            renormalize: true,
        }
    }
}

impl XbnConfig {
    /// Checks that `eps` is finite and positive.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(XbnError::InvalidConfig(format!(
                "eps must be finite and > 0, got {}",
                self.eps
            )));
        }
        Ok(())
    }
}

/// XBN: `M̂ = (M − μ_M) / sqrt(σ²_M + ε) · sqrt(σ²_B + ε) + μ_B` per dimension (eq. (X1)), with
/// `μ_B, σ²_B` the mean and biased variance of the current batch, then optional row
/// L2-normalization (eq. (R)).
///
/// Edge cases: an empty memory is returned as is; `b = 1` gives `σ²_B = 0` (only `ε` remains,
/// so the memory collapses towards `μ_B`); `m = 1` or a zero-variance memory column maps that
/// column to `μ_B[k]`. Non-finite inputs, rank ≠ 2, a `d` mismatch or an empty batch are errors.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use xbn_core::{CrossBatchNorm, MomentMatcher, XbnConfig, moments};
/// let dev = Device::Cpu;
/// let memory = Tensor::new(&[[0.0f64, 1.0], [2.0, 5.0], [4.0, 3.0]], &dev).unwrap();
/// let batch = Tensor::new(&[[10.0f64, -1.0], [12.0, 1.0]], &dev).unwrap();
/// let mut xbn = CrossBatchNorm::new(XbnConfig { eps: 1e-12, renormalize: false }).unwrap();
/// let adapted = xbn.adapt(&memory, &batch).unwrap();
/// let (got, want) = (moments(&adapted).unwrap(), moments(&batch).unwrap());
/// let close = |a: &Tensor, b: &Tensor| (a - b).unwrap().abs().unwrap()
///     .max_all().unwrap().to_scalar::<f64>().unwrap() < 1e-9;
/// assert!(close(&got.mean, &want.mean) && close(&got.var, &want.var));
/// assert!(xbn.last_shift().unwrap().mean > 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct CrossBatchNorm {
    config: XbnConfig,
    last: Option<ShiftRecord>,
}

impl CrossBatchNorm {
    /// A new XBN matcher; fails on an invalid configuration.
    pub fn new(config: XbnConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config, last: None })
    }

    /// The configuration.
    pub fn config(&self) -> &XbnConfig {
        &self.config
    }
}

impl MomentMatcher for CrossBatchNorm {
    fn adapt(&mut self, memory: &Tensor, batch: &Tensor) -> Result<Tensor> {
        let obs = observe(memory, batch)?;
        let Some(mem) = obs.memory else {
            self.last = None;
            return Ok(memory.clone());
        };
        let out = match_moments(
            memory,
            &mem,
            &obs.batch.mean,
            &obs.batch.var,
            self.config.eps,
            self.config.renormalize,
        )?;
        self.last = Some(ShiftRecord {
            memory_mean: mem.mean,
            memory_var: mem.var,
            target_mean: obs.batch.mean,
            target_var: obs.batch.var,
            eps: self.config.eps,
        });
        Ok(out)
    }

    fn last_shift(&self) -> Option<MomentShift> {
        self.last.as_ref().and_then(|r| r.shift().ok())
    }
}
