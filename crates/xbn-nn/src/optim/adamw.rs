//! AdamW with per-group learning rates and exportable moments.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, backprop::GradStore};

use super::Optimizer;
use super::adamw_cpu::{self, AdamWStep};
use super::error::{OptimError, Result};
use super::group::{ParamGroup, check_state, validate_groups};

/// Hyper-parameters of [`AdamW`] shared by all groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// `β₁`, decay of the first moment.
    pub beta1: f64,
    /// `β₂`, decay of the second moment.
    pub beta2: f64,
    /// `ε` added to `√v̂`.
    pub eps: f64,
    /// `true`: AdamW, the decay `p ← p·(1 − η·λ)` is separate from the gradient. `false`:
    /// PyTorch's `torch.optim.Adam(weight_decay=λ)`, L2 coupled into the gradient,
    /// `g ← g + λ·p`, before the moments (the XBM reference's optimizer).
    pub decoupled_weight_decay: bool,
}

impl Default for AdamWConfig {
    /// PyTorch's defaults: `β = (0.9, 0.999)`, `ε = 1e-8`, decoupled decay (AdamW).
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            decoupled_weight_decay: true,
        }
    }
}

impl AdamWConfig {
    /// `torch.optim.Adam`'s defaults: as [`AdamWConfig::default`] with the decay coupled into
    /// the gradient as L2.
    pub fn adam_l2() -> Self {
        Self {
            decoupled_weight_decay: false,
            ..Self::default()
        }
    }
}

/// Adam with decoupled weight decay, step for step PyTorch's `torch.optim.AdamW`; with
/// [`AdamWConfig::decoupled_weight_decay`] off, step for step `torch.optim.Adam`, whose decay is
/// L2 in the gradient (`g ← g + λ·p` first, and no decoupled decay). For a parameter `p` with
/// gradient `g`, its own step count `t`, group rate `η` and decay `λ`:
///
/// ```text
/// p ← p·(1 − η·λ)                                  (decoupled only)
/// m ← β₁·m + (1 − β₁)·g,     v ← β₂·v + (1 − β₂)·g²
/// p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
/// State per parameter: `{name}.exp_avg` (m), `{name}.exp_avg_sq` (v), `{name}.step` (t, f64
/// of shape `[1]`). Parameters without a gradient are skipped. On the CPU the update runs as
/// three in-place passes (`m`, `v`, then `p`) without temporaries.
#[derive(Debug)]
pub struct AdamW {
    groups: Vec<ParamGroup>,
    config: AdamWConfig,
    lr_factor: f64,
    moments: HashMap<String, (Tensor, Tensor, u64)>,
}

const SLOTS: [&str; 3] = ["exp_avg", "exp_avg_sq", "step"];

impl AdamW {
    /// An optimizer over `groups` (parameter names must be unique).
    pub fn new(groups: Vec<ParamGroup>, config: AdamWConfig) -> Result<Self> {
        validate_groups(&groups)?;
        let c = config;
        let beta_ok = |b: f64| (0.0..1.0).contains(&b);
        if !(beta_ok(c.beta1) && beta_ok(c.beta2) && c.eps.is_finite() && c.eps > 0.0) {
            return Err(OptimError::InvalidConfig(format!(
                "AdamW needs β₁, β₂ in [0, 1) and ε > 0, got {}, {}, {}",
                c.beta1, c.beta2, c.eps
            )));
        }
        Ok(Self {
            groups,
            config,
            lr_factor: 1.0,
            moments: HashMap::new(),
        })
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            decoupled_weight_decay,
        } = self.config;
        for group in &self.groups {
            let lr = group.lr * self.lr_factor;
            for (name, var) in &group.params {
                let Some(grad) = grads.get(var.as_tensor()) else {
                    continue;
                };
                let p = var.as_tensor().detach();
                // Coupled L2 (Adam): g + λ·p feeds the moments, and nothing is decoupled.
                let (g, decay) = if decoupled_weight_decay || group.weight_decay == 0.0 {
                    (grad.detach(), group.weight_decay)
                } else {
                    ((grad.detach() + p.affine(group.weight_decay, 0.0)?)?, 0.0)
                };
                let (m, v, t) = match self.moments.get(name) {
                    Some((m, v, t)) => (m.clone(), v.clone(), *t),
                    None => (g.zeros_like()?, g.zeros_like()?, 0),
                };
                let t = t + 1;
                let bc1 = 1.0 - beta1.powf(t as f64);
                let bc2_sqrt = (1.0 - beta2.powf(t as f64)).sqrt();
                if adamw_cpu::applies(var.as_tensor(), &g, &m, &v) {
                    let scalars = AdamWStep {
                        beta1,
                        beta2,
                        eps,
                        lr,
                        weight_decay: decay,
                        bias_correction1: bc1,
                        bias_correction2_sqrt: bc2_sqrt,
                    };
                    adamw_cpu::step(var.as_tensor(), &g, &m, &v, scalars)?;
                    self.moments.insert(name.clone(), (m, v, t));
                    continue;
                }
                let m = (m.affine(beta1, 0.0)? + g.affine(1.0 - beta1, 0.0)?)?;
                let v = (v.affine(beta2, 0.0)? + g.sqr()?.affine(1.0 - beta2, 0.0)?)?;
                let denom = v.sqrt()?.affine(1.0 / bc2_sqrt, eps)?;
                let decayed = p.affine(1.0 - lr * decay, 0.0)?;
                let update = (m.div(&denom)?).affine(lr / bc1, 0.0)?;
                var.set(&(decayed - update)?)?;
                self.moments.insert(name.clone(), (m, v, t));
            }
        }
        Ok(())
    }

    fn set_lr_factor(&mut self, factor: f64) {
        self.lr_factor = factor;
    }

    fn lr_factor(&self) -> f64 {
        self.lr_factor
    }

    fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    fn state(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::with_capacity(3 * self.moments.len());
        for (name, (m, v, t)) in &self.moments {
            out.insert(format!("{name}.exp_avg"), snapshot(m));
            out.insert(format!("{name}.exp_avg_sq"), snapshot(v));
            // Step counts are exact in f64 up to 2^53.
            if let Ok(step) = Tensor::new(&[*t as f64], &Device::Cpu) {
                out.insert(format!("{name}.step"), step);
            }
        }
        out
    }

    fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        check_state(&self.groups, &SLOTS, state)?;
        let mut moments = HashMap::new();
        for g in &self.groups {
            for (name, var) in &g.params {
                let get = |slot: &str| state.get(&format!("{name}.{slot}"));
                match (get("exp_avg"), get("exp_avg_sq"), get("step")) {
                    (None, None, None) => {}
                    (Some(m), Some(v), Some(t)) => {
                        let t = t.to_dtype(DType::F64)?.to_vec1::<f64>()?[0];
                        if !(t.is_finite() && t >= 1.0 && t.fract() == 0.0) {
                            return Err(OptimError::State(format!(
                                "`{name}.step` must be a positive integer, got {t}"
                            )));
                        }
                        // Own copies: the CPU update changes the moments in place.
                        let to_param =
                            |x: &Tensor| x.to_dtype(var.dtype())?.to_device(var.device())?.copy();
                        moments.insert(name.clone(), (to_param(m)?, to_param(v)?, t as u64));
                    }
                    _ => {
                        return Err(OptimError::State(format!(
                            "`{name}` needs all of exp_avg, exp_avg_sq and step, or none"
                        )));
                    }
                }
            }
        }
        self.moments = moments;
        Ok(())
    }
}

/// A moment as `state()` hands it out. The CPU update changes moments in place, so CPU moments
/// are copied (a copy cannot fail there but for an allocation failure, which aborts); on other
/// devices every step builds new tensors, so sharing the storage is safe.
fn snapshot(t: &Tensor) -> Tensor {
    if t.device().is_cpu() {
        if let Ok(copy) = t.copy() {
            return copy;
        }
    }
    t.clone()
}
