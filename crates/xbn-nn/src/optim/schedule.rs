//! Learning-rate schedules: linear warm-up, then cosine or step decay.

use super::error::{OptimError, Result};

/// What happens to the learning-rate factor after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    /// Factor 1 throughout.
    Constant,
    /// Cosine annealing from 1 to `min_factor` at `total_iters`, then `min_factor`:
    /// `f = f_min + (1 − f_min)·(1 + cos(π·u/U))/2`, `u = t − W`, `U = total_iters − W`.
    Cosine {
        /// Final factor `f_min`.
        min_factor: f64,
    },
    /// Multiply by `gamma` every `every` iterations after the warm-up: `f = γ^⌊u/every⌋`.
    Step {
        /// Iterations between two decays.
        every: usize,
        /// Decay factor `γ`.
        gamma: f64,
    },
}

/// The learning-rate factor as a pure function of the iteration `t` (0-based, the step about to
/// be taken), multiplied into each group's base rate. Warm-up over `W = warmup_iters`
/// iterations: `f = s + (1 − s)·t/W` for `t < W` (`s = warmup_start_factor`, PyTorch's
/// `LinearLR`), then [`Decay`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    /// Warm-up length `W` (0: none).
    pub warmup_iters: usize,
    /// Factor `s` at iteration 0 of the warm-up.
    pub warmup_start_factor: f64,
    /// Total training iterations (end of the cosine).
    pub total_iters: usize,
    /// Decay after the warm-up.
    pub decay: Decay,
}

impl LrSchedule {
    /// A constant factor 1.
    pub fn constant() -> Self {
        Self {
            warmup_iters: 0,
            warmup_start_factor: 1.0,
            total_iters: 0,
            decay: Decay::Constant,
        }
    }

    /// Checks the ranges: `s ∈ [0, 1]`, `f_min ∈ [0, 1]`, `every ≥ 1`, `γ ∈ (0, 1]`,
    /// `W ≤ total_iters` for cosine.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(OptimError::InvalidConfig(m));
        if !(0.0..=1.0).contains(&self.warmup_start_factor) {
            return bad(format!(
                "warm-up start factor must be in [0, 1], got {}",
                self.warmup_start_factor
            ));
        }
        match self.decay {
            Decay::Constant => Ok(()),
            Decay::Cosine { min_factor } if !(0.0..=1.0).contains(&min_factor) => bad(format!(
                "cosine min factor must be in [0, 1], got {min_factor}"
            )),
            Decay::Cosine { .. } if self.warmup_iters > self.total_iters => bad(format!(
                "warm-up ({}) longer than training ({} iterations)",
                self.warmup_iters, self.total_iters
            )),
            Decay::Step { every: 0, .. } => bad("step decay every 0 iterations".into()),
            Decay::Step { gamma, .. } if !(gamma > 0.0 && gamma <= 1.0) => {
                bad(format!("step decay gamma must be in (0, 1], got {gamma}"))
            }
            _ => Ok(()),
        }
    }

    /// The factor at iteration `t`.
    pub fn factor(&self, t: usize) -> f64 {
        let w = self.warmup_iters;
        if t < w {
            let s = self.warmup_start_factor;
            return s + (1.0 - s) * t as f64 / w as f64;
        }
        let u = t - w;
        match self.decay {
            Decay::Constant => 1.0,
            Decay::Cosine { min_factor } => {
                let span = self.total_iters.saturating_sub(w);
                if span == 0 || u >= span {
                    return min_factor;
                }
                let c = (std::f64::consts::PI * u as f64 / span as f64).cos();
                min_factor + (1.0 - min_factor) * (1.0 + c) / 2.0
            }
            Decay::Step { every, gamma } => gamma.powi((u / every.max(1)) as i32),
        }
    }
}
