//! The local-linear-trend form of adaptive XBN's filter: besides each moment `x` (`μ` or `v`)
//! it tracks its per-iteration change, the slope `g`, so that a moment moving steadily (as
//! embeddings do while a network trains) is followed without the lag of a random walk.
//!
//! Per dimension and moment, state `(x, g)` with covariance `[[a, c], [c, e]]`:
//!
//! ```text
//! predict:  x⁻ = x + g,  g⁻ = g
//!           a⁻ = a + 2c + e + Q_x,  c⁻ = c + e,  e⁻ = e + Q_g        (T1)
//! observe:  o with noise R, as the random-walk filter (eq. (K2))
//! update:   S = a⁻ + R,  K_x = a⁻/S,  K_g = c⁻/S                   (T2)
//!           x = x⁻ + K_x (o − x⁻),  g = g⁻ + K_g (o − x⁻)
//!           a = (1 − K_x) a⁻,  c = (1 − K_x) c⁻,  e = e⁻ − K_g c⁻
//! ```
//!
//! with `Q_x` the random walk's process noise (`q·v` for the mean, `q·v²` for the variance) and
//! `Q_g = q_g·v` (resp. `q_g·v²`), `q_g` the trend rate. Initialization: `g = 0`, `c = 0`,
//! `e = R` (a slope as uncertain as one observation).

use candle_core::Tensor;

use crate::Result;

/// The slope part of a filter state: per dimension, the slopes of the mean and the variance
/// and the covariance terms they add. All tensors `(d,)`, the dtype and device of the state.
#[derive(Debug, Clone)]
pub struct TrendState {
    /// `g_μ`, the per-iteration change of the mean.
    pub mean_slope: Tensor,
    /// `g_v`, the per-iteration change of the variance.
    pub var_slope: Tensor,
    /// `c_μ`, the covariance of `μ` and `g_μ`.
    pub p_mean_cross: Tensor,
    /// `e_μ`, the error variance of `g_μ`.
    pub p_mean_slope: Tensor,
    /// `c_v`, the covariance of `v` and `g_v`.
    pub p_var_cross: Tensor,
    /// `e_v`, the error variance of `g_v`.
    pub p_var_slope: Tensor,
}

/// One moment's `(x, a)` with its slope part `(g, c, e)`.
pub(crate) struct Tracked {
    pub x: Tensor,
    pub a: Tensor,
    pub g: Tensor,
    pub c: Tensor,
    pub e: Tensor,
}

impl Tracked {
    /// The prediction (T1) with process noises `q_x`, `q_g`.
    pub fn predict(&self, q_x: &Tensor, q_g: &Tensor) -> Result<Tracked> {
        Ok(Tracked {
            x: (&self.x + &self.g)?,
            a: (((&self.a + self.c.affine(2.0, 0.0)?)? + &self.e)? + q_x)?,
            g: self.g.clone(),
            c: (&self.c + &self.e)?,
            e: (&self.e + q_g)?,
        })
    }

    /// The update (T2) of a prediction with observation `obs` of noise `r`.
    pub fn update(&self, obs: &Tensor, r: &Tensor) -> Result<Tracked> {
        let s = (&self.a + r)?;
        let positive = s.gt(0.0)?;
        let safe = positive.where_cond(&s, &s.ones_like()?)?;
        // S = 0 (no uncertainty at all): take the observation, keep the slope.
        let k_x = positive.where_cond(&(&self.a / &safe)?, &s.ones_like()?)?;
        let k_g = positive.where_cond(&(&self.c / &safe)?, &s.zeros_like()?)?;
        let innovation = (obs - &self.x)?;
        Ok(Tracked {
            x: (&self.x + (&k_x * &innovation)?)?,
            g: (&self.g + (&k_g * &innovation)?)?,
            a: (k_x.affine(-1.0, 1.0)? * &self.a)?,
            c: (k_x.affine(-1.0, 1.0)? * &self.c)?,
            e: (&self.e - (&k_g * &self.c)?)?,
        })
    }
}

impl TrendState {
    /// The initial slope part: zero slopes and covariances, slope error variances `r_mean`,
    /// `r_var` (one observation's noise).
    pub(crate) fn init(r_mean: &Tensor, r_var: &Tensor) -> Result<Self> {
        Ok(Self {
            mean_slope: r_mean.zeros_like()?,
            var_slope: r_var.zeros_like()?,
            p_mean_cross: r_mean.zeros_like()?,
            p_mean_slope: r_mean.clone(),
            p_var_cross: r_var.zeros_like()?,
            p_var_slope: r_var.clone(),
        })
    }

    /// The six tensors with their names, in a fixed order.
    pub fn parts(&self) -> [(&'static str, &Tensor); 6] {
        [
            ("mean_slope", &self.mean_slope),
            ("var_slope", &self.var_slope),
            ("p_mean_cross", &self.p_mean_cross),
            ("p_mean_slope", &self.p_mean_slope),
            ("p_var_cross", &self.p_var_cross),
            ("p_var_slope", &self.p_var_slope),
        ]
    }
}
