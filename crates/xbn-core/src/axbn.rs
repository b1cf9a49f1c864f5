//! Adaptive cross batch normalization (AXBN): XBN towards Kalman-filtered target moments.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::kalman::{FilterState, ObservationNoise};
use crate::matching::{match_moments, observe};
use crate::shift::ShiftRecord;
use crate::{MomentMatcher, MomentShift, Result, XbnError};

/// The default relative drift rate `q`, chosen from training runs: of the rates 0.01, 0.1 and 1,
/// `q = 0.1` is the one whose worst setting against XBM is best over the from-scratch and
/// fine-tuning regimes of the study (`docs/reproduction.md`, "Choosing the drift rate"; the
/// stream experiment of `docs/method.md` had suggested 0.01).
pub const DEFAULT_DRIFT_RATE: f64 = 0.1;

/// Configuration of [`AdaptiveCrossBatchNorm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxbnConfig {
    /// `ε` of the (XBN) map; finite and `> 0`. Default `1e-5`.
    pub eps: f64,
    /// L2-normalize the rows of the adapted memory (eq. (R)). Default `true`.
    pub renormalize: bool,
    /// Relative drift rate `q ≥ 0` of the random walk of the true moments: process noise
    /// `Q_μ = q·v`, `Q_v = q·v²` per step. `q = 0` assumes stationary moments (the estimate
    /// becomes a running average); large `q` trusts each batch (`q → ∞` is XBN with the
    /// unbiased batch variance). Default [`DEFAULT_DRIFT_RATE`].
    pub drift_rate: f64,
    /// Which variance the observation noise `R` is computed from (eq. (K2)). Default
    /// [`ObservationNoise::Predicted`].
    pub observation_noise: ObservationNoise,
    /// Relative rate `q_g ≥ 0` at which the moments' per-iteration change may itself change.
    /// `0` (default): the paper's random-walk filter. `> 0`: the local-linear-trend filter,
    /// which also tracks each moment's slope (process noise `q_g·v`, `q_g·v²`) and so follows
    /// moments that move steadily without lagging behind (see [`crate::TrendState`]).
    pub trend_rate: f64,
}

impl Default for AxbnConfig {
    fn default() -> Self {
        Self {
            eps: 1e-5,
            renormalize: true,
            drift_rate: DEFAULT_DRIFT_RATE,
            observation_noise: ObservationNoise::Predicted,
            trend_rate: 0.0,
        }
    }
}

impl AxbnConfig {
    /// Checks `eps > 0` and `drift_rate ≥ 0`, both finite.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(XbnError::InvalidConfig(format!(
                "eps must be finite and > 0, got {}",
                self.eps
            )));
        }
        if !(self.trend_rate.is_finite() && self.trend_rate >= 0.0) {
            return Err(XbnError::InvalidConfig(format!(
                "trend_rate must be finite and >= 0, got {}",
                self.trend_rate
            )));
        }
        if !(self.drift_rate.is_finite() && self.drift_rate >= 0.0) {
            return Err(XbnError::InvalidConfig(format!(
                "drift_rate must be finite and >= 0, got {}",
                self.drift_rate
            )));
        }
        Ok(())
    }
}

/// Adaptive XBN: the (XBN) map with target moments `(μ_t, v_t)` estimated per dimension by a
/// Kalman filter over the stream of batch moments (eqs. (K0)–(K4) of `docs/method.md`).
///
/// The first batch with `b ≥ 2` initializes the filter. Before that, a `b = 1` batch is matched
/// with its own moments (as XBN) and leaves the filter uninitialized. After that, `b = 1`
/// batches update the mean only (see [`FilterState`]). An empty memory still updates the
/// filter. On any error (rank, `d` mismatch with the memory or the filter, empty batch,
/// non-finite values) the filter state is unchanged.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use xbn_core::{AdaptiveCrossBatchNorm, AxbnConfig, MomentMatcher};
/// let dev = Device::Cpu;
/// let mut axbn = AdaptiveCrossBatchNorm::new(AxbnConfig::default()).unwrap();
/// let memory = Tensor::randn(0f32, 1.0, (32, 8), &dev).unwrap();
/// for _ in 0..3 {
///     let batch = Tensor::randn(0.5f32, 2.0, (4, 8), &dev).unwrap();
///     let adapted = axbn.adapt(&memory, &batch).unwrap();
///     assert_eq!(adapted.dims(), &[32, 8]);
/// }
/// assert_eq!(axbn.state().unwrap().iteration, 3);
/// let saved = axbn.state_tensors("axbn.").unwrap();
/// axbn.reset();
/// assert!(axbn.state().is_none());
/// axbn.load_state_tensors(&saved, "axbn.", &dev).unwrap();
/// assert_eq!(axbn.state().unwrap().iteration, 3);
/// ```
#[derive(Debug, Clone)]
pub struct AdaptiveCrossBatchNorm {
    pub(crate) config: AxbnConfig,
    pub(crate) state: Option<FilterState>,
    last: Option<ShiftRecord>,
}

impl AdaptiveCrossBatchNorm {
    /// A new AXBN matcher with an uninitialized filter; fails on an invalid configuration.
    pub fn new(config: AxbnConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            state: None,
            last: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AxbnConfig {
        &self.config
    }

    /// The filter state, `None` until the first batch with `b ≥ 2`.
    pub fn state(&self) -> Option<&FilterState> {
        self.state.as_ref()
    }

    /// Replaces the filter state after validating it ([`FilterState::validate`]); a state
    /// with slopes needs `trend_rate > 0`, and one without needs `trend_rate = 0`.
    pub fn set_state(&mut self, state: Option<FilterState>) -> Result<()> {
        if let Some(s) = &state {
            s.validate()?;
            let trend = self.config.trend_rate > 0.0;
            if s.trend.is_some() != trend {
                return Err(XbnError::State(format!(
                    "a filter state {} slopes for a filter with trend_rate = {}",
                    if s.trend.is_some() { "with" } else { "without" },
                    self.config.trend_rate
                )));
            }
        }
        self.state = state;
        self.last = None;
        Ok(())
    }

    /// Forgets the filter state (the next batch with `b ≥ 2` re-initializes it).
    pub fn reset(&mut self) {
        self.state = None;
        self.last = None;
    }
}

impl MomentMatcher for AdaptiveCrossBatchNorm {
    fn adapt(&mut self, memory: &Tensor, batch: &Tensor) -> Result<Tensor> {
        let obs = observe(memory, batch)?;
        let d = batch.dims()[1];
        let next = match &self.state {
            Some(s) if s.dim() != d => {
                return Err(XbnError::State(format!(
                    "filter state has d = {} but the batch has shape {:?}",
                    s.dim(),
                    batch.dims()
                )));
            }
            Some(s) => Some(s.step(
                &obs.batch,
                self.config.drift_rate,
                self.config.observation_noise,
                self.config.trend_rate,
            )?),
            None if obs.batch.count >= 2 => Some(FilterState::init(
                &obs.batch,
                obs.batch.dtype(),
                self.config.trend_rate > 0.0,
            )?),
            None => None,
        };
        let (target_mean, target_var) = match &next {
            Some(s) => (
                s.mean.to_device(batch.device())?,
                s.var.to_device(batch.device())?,
            ),
            None => (obs.batch.mean.clone(), obs.batch.var.clone()),
        };
        let (out, last) = match obs.memory {
            Some(mem) => {
                let out = match_moments(
                    memory,
                    &mem,
                    &target_mean,
                    &target_var,
                    self.config.eps,
                    self.config.renormalize,
                )?;
                let rec = ShiftRecord {
                    memory_mean: mem.mean,
                    memory_var: mem.var,
                    target_mean,
                    target_var,
                    eps: self.config.eps,
                };
                (out, Some(rec))
            }
            None => (memory.clone(), None),
        };
        if next.is_some() {
            self.state = next;
        }
        self.last = last;
        Ok(out)
    }

    fn last_shift(&self) -> Option<MomentShift> {
        self.last.as_ref().and_then(|r| r.shift().ok())
    }

    /// The filter state; see [`AdaptiveCrossBatchNorm::filter_state_tensors`] for the keys.
    fn state_tensors(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        self.filter_state_tensors(prefix)
    }

    /// Restores the filter state; see [`AdaptiveCrossBatchNorm::load_filter_state_tensors`].
    fn load_state_tensors(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        device: &Device,
    ) -> Result<()> {
        self.load_filter_state_tensors(tensors, prefix, device)
    }
}
