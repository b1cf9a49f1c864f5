//! SGD with momentum (optionally Nesterov) and coupled (L2) or decoupled weight decay.

use std::collections::HashMap;

use candle_core::{Tensor, backprop::GradStore};

use super::Optimizer;
use super::error::{OptimError, Result};
use super::group::{ParamGroup, check_state, validate_groups};

/// Hyper-parameters of [`Sgd`] shared by all groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// Momentum `μ` (0 disables the buffer).
    pub momentum: f64,
    /// Dampening `τ` of the gradient added to the buffer.
    pub dampening: f64,
    /// Nesterov momentum (needs `μ > 0` and `τ = 0`).
    pub nesterov: bool,
    /// Decoupled weight decay `p ← p·(1 − η·λ)` (SGDW) instead of L2 `g ← g + λ·p`.
    pub decoupled_weight_decay: bool,
}

impl Default for SgdConfig {
    /// Momentum 0.9, no dampening, no Nesterov, L2 weight decay (PyTorch's `SGD` semantics).
    fn default() -> Self {
        Self {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
            decoupled_weight_decay: false,
        }
    }
}

/// Stochastic gradient descent, step for step PyTorch's `torch.optim.SGD` (plus an SGDW
/// option). For a parameter `p` with gradient `g`, group rate `η` and decay `λ`:
///
/// ```text
/// g ← g + λ·p                         (L2; decoupled instead: p ← p·(1 − η·λ))
/// b ← g  at the first step,  b ← μ·b + (1 − τ)·g  after
/// g ← g + μ·b  (Nesterov)   or   g ← b
/// p ← p − η·g
/// ```
/// Parameters without a gradient are skipped (their buffers unchanged).
#[derive(Debug)]
pub struct Sgd {
    groups: Vec<ParamGroup>,
    config: SgdConfig,
    lr_factor: f64,
    buffers: HashMap<String, Tensor>,
}

const SLOT: &str = "momentum_buffer";

impl Sgd {
    /// An optimizer over `groups` (parameter names must be unique).
    pub fn new(groups: Vec<ParamGroup>, config: SgdConfig) -> Result<Self> {
        validate_groups(&groups)?;
        let c = config;
        if !(c.momentum.is_finite() && c.momentum >= 0.0 && (0.0..=1.0).contains(&c.dampening)) {
            return Err(OptimError::InvalidConfig(format!(
                "SGD needs momentum ≥ 0 and dampening in [0, 1], got {} and {}",
                c.momentum, c.dampening
            )));
        }
        if c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0) {
            return Err(OptimError::InvalidConfig(format!(
                "Nesterov momentum needs momentum > 0 and dampening 0, got {} and {}",
                c.momentum, c.dampening
            )));
        }
        Ok(Self {
            groups,
            config,
            lr_factor: 1.0,
            buffers: HashMap::new(),
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let c = self.config;
        for group in &self.groups {
            let lr = group.lr * self.lr_factor;
            let wd = group.weight_decay;
            for (name, var) in &group.params {
                let Some(grad) = grads.get(var.as_tensor()) else {
                    continue;
                };
                let p = var.as_tensor().detach();
                let mut g = grad.detach();
                let mut p_base = p.clone();
                if wd != 0.0 {
                    if c.decoupled_weight_decay {
                        p_base = p.affine(1.0 - lr * wd, 0.0)?;
                    } else {
                        g = (g + p.affine(wd, 0.0)?)?;
                    }
                }
                if c.momentum != 0.0 {
                    let key = format!("{name}.{SLOT}");
                    let buf = match self.buffers.get(&key) {
                        None => g.clone(),
                        Some(b) => {
                            (b.affine(c.momentum, 0.0)? + g.affine(1.0 - c.dampening, 0.0)?)?
                        }
                    };
                    g = if c.nesterov {
                        (g + buf.affine(c.momentum, 0.0)?)?
                    } else {
                        buf.clone()
                    };
                    self.buffers.insert(key, buf);
                }
                var.set(&(p_base - g.affine(lr, 0.0)?)?)?;
            }
        }
        Ok(())
    }

    fn set_lr_factor(&mut self, factor: f64) {
        self.lr_factor = factor;
    }

    fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    fn lr_factor(&self) -> f64 {
        self.lr_factor
    }

    fn state(&self) -> HashMap<String, Tensor> {
        self.buffers.clone()
    }

    fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        check_state(&self.groups, &[SLOT], state)?;
        let mut buffers = HashMap::with_capacity(state.len());
        for g in &self.groups {
            for (name, var) in &g.params {
                let key = format!("{name}.{SLOT}");
                if let Some(t) = state.get(&key) {
                    buffers.insert(key, t.to_dtype(var.dtype())?.to_device(var.device())?);
                }
            }
        }
        self.buffers = buffers;
        Ok(())
    }
}
