//! The per-dimension Kalman filter of adaptive XBN: state, initialization and one step.

use candle_core::{DType, Tensor};

use crate::kalman_trend::{Tracked, TrendState};
use crate::{Moments, Result, XbnError};

/// Which variance the observation noise `R` of a batch with `b ≥ 2` is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObservationNoise {
    /// The filter's predicted variance `v⁻ = v_{t−1}`: `R_μ = v⁻/b`, `R_v = 2(v⁻)²/(b−1)`.
    /// The noise then does not depend on the observation itself, so the filter is unbiased;
    /// with `q = 0` on a stationary stream it converges to the true moments. Default.
    #[default]
    Predicted,
    /// The batch's own unbiased variance `s²`: `R_μ = s²/b`, `R_v = 2s⁴/(b−1)`, literally as
    /// written in the spec. Batches whose `s²` happens to be small get more weight, which
    /// biases `v` downwards (about −27% at `b = 16` with `q = 0`; see `docs/method.md`).
    Batch,
}

/// The filter's state after `iteration` observed batches: per dimension, the estimated mean
/// `μ_t` and variance `v_t` of the current embedding distribution and the error variances
/// `P_μ`, `P_v` of those estimates. All four tensors have shape `(d,)`, one float dtype
/// (`f64` or `f32`) and one device.
#[derive(Debug, Clone)]
pub struct FilterState {
    /// `μ_t`, the filtered per-dimension mean.
    pub mean: Tensor,
    /// `v_t`, the filtered per-dimension variance.
    pub var: Tensor,
    /// `P_μ,t`, the error variance of `μ_t`.
    pub p_mean: Tensor,
    /// `P_v,t`, the error variance of `v_t`.
    pub p_var: Tensor,
    /// The number of batches the filter has observed (1 after initialization).
    pub iteration: u64,
    /// The slopes of the moments, for the local-linear-trend filter
    /// ([`AxbnConfig::trend_rate`](crate::AxbnConfig::trend_rate) `> 0`); `None` for the
    /// paper's random-walk filter.
    pub trend: Option<TrendState>,
}

impl FilterState {
    /// The embedding dimension `d`.
    pub fn dim(&self) -> usize {
        self.mean.dims().first().copied().unwrap_or(0)
    }

    /// The dtype of the state tensors.
    pub fn dtype(&self) -> DType {
        self.mean.dtype()
    }

    /// Checks shapes `(d,)`, one float dtype, finite values and `v, P_μ, P_v ≥ 0`.
    pub fn validate(&self) -> Result<()> {
        let d = self.dim();
        let mut parts = vec![
            ("mean", &self.mean),
            ("var", &self.var),
            ("p_mean", &self.p_mean),
            ("p_var", &self.p_var),
        ];
        if let Some(trend) = &self.trend {
            parts.extend(trend.parts());
        }
        // Slopes and their covariances with the moments may be negative.
        let signed = [
            "mean",
            "mean_slope",
            "var_slope",
            "p_mean_cross",
            "p_var_cross",
        ];
        for (name, t) in parts {
            if t.dims() != [d] || t.dtype() != self.dtype() {
                return Err(XbnError::State(format!(
                    "filter state `{name}` has shape {:?} and dtype {:?}; expected ({d},) {:?}",
                    t.dims(),
                    t.dtype(),
                    self.dtype()
                )));
            }
            if !matches!(t.dtype(), DType::F32 | DType::F64) {
                return Err(XbnError::State(format!(
                    "filter state `{name}` has dtype {:?}; expected f32 or f64",
                    t.dtype()
                )));
            }
            let v = t.to_dtype(DType::F64)?.to_vec1::<f64>()?;
            if let Some((i, x)) = v
                .iter()
                .enumerate()
                .find(|(_, x)| !x.is_finite() || (!signed.contains(&name) && **x < 0.0))
            {
                return Err(XbnError::State(format!(
                    "filter state `{name}`[{i}] = {x} (must be finite{})",
                    if signed.contains(&name) {
                        ""
                    } else {
                        " and >= 0"
                    }
                )));
            }
        }
        Ok(())
    }

    /// Initialization from the first batch with `b ≥ 2` (eq. (K0)): `μ_0 = ȳ`, `P_μ,0 = s²/b`,
    /// `v_0 = s²`, `P_v,0 = 2s⁴/(b−1)`, in dtype `dtype`; with `trend`, zero slopes
    /// ([`TrendState`]'s initialization).
    pub(crate) fn init(batch: &Moments, dtype: DType, trend: bool) -> Result<Self> {
        let (o_mean, r_mean, o_var, r_var) = observations(batch, dtype)?;
        let trend = match trend {
            true => Some(TrendState::init(&r_mean, &r_var)?),
            false => None,
        };
        Ok(Self {
            mean: o_mean,
            var: o_var,
            p_mean: r_mean,
            p_var: r_var,
            iteration: 1,
            trend,
        })
    }

    /// One predict/observe/gain/update step (eqs. (K1)–(K4)) with relative drift rate `q`:
    /// process noise `Q_μ = q·v_{t−1}`, `Q_v = q·v²_{t−1}`, observation noise per `noise`. For `b ≥ 2` both `μ` and `v` are
    /// updated; for `b = 1` the mean is observed with `R_μ = v_{t−1}` (the variance of one
    /// draw) and the variance is only predicted (`v_t = v_{t−1}`, `P_v,t = P_v,t−1 + Q_v`).
    ///
    /// With a [`TrendState`] the step is the local-linear-trend one (`kalman_trend`), the
    /// slopes' process noise `Q_g = trend_rate·v` (mean) and `trend_rate·v²` (variance).
    pub(crate) fn step(
        &self,
        batch: &Moments,
        q: f64,
        noise: ObservationNoise,
        trend_rate: f64,
    ) -> Result<Self> {
        let q_mean = self.var.affine(q, 0.0)?;
        let q_var = self.var.sqr()?.affine(q, 0.0)?;
        if let Some(trend) = &self.trend {
            return self.trend_step(trend, batch, (&q_mean, &q_var), noise, trend_rate);
        }
        if batch.count >= 2 {
            let (o_mean, mut r_mean, o_var, mut r_var) = observations(batch, self.dtype())?;
            if noise == ObservationNoise::Predicted {
                let b = batch.count as f64;
                r_mean = self.var.affine(1.0 / b, 0.0)?;
                r_var = self.var.sqr()?.affine(2.0 / (b - 1.0), 0.0)?;
            }
            let (mean, p_mean) = kalman_step(&self.mean, &self.p_mean, &q_mean, &o_mean, &r_mean)?;
            let (var, p_var) = kalman_step(&self.var, &self.p_var, &q_var, &o_var, &r_var)?;
            Ok(Self {
                mean,
                var,
                p_mean,
                p_var,
                iteration: self.iteration + 1,
                trend: None,
            })
        } else {
            let o_mean = batch.mean.to_dtype(self.dtype())?;
            let (mean, p_mean) =
                kalman_step(&self.mean, &self.p_mean, &q_mean, &o_mean, &self.var)?;
            Ok(Self {
                mean,
                var: self.var.clone(),
                p_mean,
                p_var: (&self.p_var + q_var)?,
                iteration: self.iteration + 1,
                trend: None,
            })
        }
    }

    /// The local-linear-trend step (eqs. (T1)–(T2) of `kalman_trend`); `b = 1` observes the
    /// mean only, as the random-walk step does.
    fn trend_step(
        &self,
        trend: &TrendState,
        batch: &Moments,
        (q_mean, q_var): (&Tensor, &Tensor),
        noise: ObservationNoise,
        trend_rate: f64,
    ) -> Result<Self> {
        let mean = Tracked {
            x: self.mean.clone(),
            a: self.p_mean.clone(),
            g: trend.mean_slope.clone(),
            c: trend.p_mean_cross.clone(),
            e: trend.p_mean_slope.clone(),
        }
        .predict(q_mean, &self.var.affine(trend_rate, 0.0)?)?;
        let var = Tracked {
            x: self.var.clone(),
            a: self.p_var.clone(),
            g: trend.var_slope.clone(),
            c: trend.p_var_cross.clone(),
            e: trend.p_var_slope.clone(),
        }
        .predict(q_var, &self.var.sqr()?.affine(trend_rate, 0.0)?)?;
        // The predicted variance, kept ≥ 0 (a falling trend may overshoot).
        let v_pred = var.x.maximum(0.0)?;
        let (mean, var) = if batch.count >= 2 {
            let (o_mean, mut r_mean, o_var, mut r_var) = observations(batch, self.dtype())?;
            if noise == ObservationNoise::Predicted {
                let b = batch.count as f64;
                r_mean = v_pred.affine(1.0 / b, 0.0)?;
                r_var = v_pred.sqr()?.affine(2.0 / (b - 1.0), 0.0)?;
            }
            (mean.update(&o_mean, &r_mean)?, var.update(&o_var, &r_var)?)
        } else {
            let o_mean = batch.mean.to_dtype(self.dtype())?;
            (mean.update(&o_mean, &v_pred)?, var)
        };
        // Rounding must not leave a variance or an error variance below 0.
        Ok(Self {
            mean: mean.x,
            var: var.x.maximum(0.0)?,
            p_mean: mean.a.maximum(0.0)?,
            p_var: var.a.maximum(0.0)?,
            iteration: self.iteration + 1,
            trend: Some(TrendState {
                mean_slope: mean.g,
                var_slope: var.g,
                p_mean_cross: mean.c,
                p_mean_slope: mean.e.maximum(0.0)?,
                p_var_cross: var.c,
                p_var_slope: var.e.maximum(0.0)?,
            }),
        })
    }
}

/// Observations and their noise for a batch with `b ≥ 2` (eq. (K2)):
/// `(ȳ, s²/b, s², 2s⁴/(b−1))`.
fn observations(batch: &Moments, dtype: DType) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let b = batch.count as f64;
    let s2 = batch.var_unbiased.to_dtype(dtype)?;
    let r_mean = s2.affine(1.0 / b, 0.0)?;
    let r_var = s2.sqr()?.affine(2.0 / (b - 1.0), 0.0)?;
    Ok((batch.mean.to_dtype(dtype)?, r_mean, s2, r_var))
}

/// One scalar Kalman step per dimension (eqs. (K1), (K3), (K4)):
/// `P⁻ = P + Q`, `K = P⁻/(P⁻ + R)` (`K = 1` where `P⁻ + R = 0`), `x ← x + K(o − x)`,
/// `P ← (1 − K) P⁻`.
pub(crate) fn kalman_step(
    x: &Tensor,
    p: &Tensor,
    q: &Tensor,
    obs: &Tensor,
    r: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let p_minus = (p + q)?;
    let denom = (&p_minus + r)?;
    let positive = denom.gt(0.0)?;
    let safe = positive.where_cond(&denom, &denom.ones_like()?)?;
    let gain = positive.where_cond(&(&p_minus / safe)?, &denom.ones_like()?)?;
    let x_new = (x + (&gain * (obs - x)?)?)?;
    let p_new = (gain.affine(-1.0, 1.0)? * p_minus)?;
    Ok((x_new, p_new))
}
