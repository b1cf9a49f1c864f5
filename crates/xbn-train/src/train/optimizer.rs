//! Optimizers of the two parameter groups (backbone, head) with their learning-rate schedule:
//! AdamW (decoupled weight decay) or SGD with momentum and weight decay, optional clipping of
//! the global gradient norm; state saved in checkpoints.
//!
//! AdamW, per parameter `θ` with gradient `g` at step `s`:
//! `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ(1 − η·λ) − η·(m/(1−β₁ˢ)) / (sqrt(v/(1−β₂ˢ)) + ε)`.
//! SGD (PyTorch's, dampening 0): `g ← g + λθ`, `b ← μb + g`, `θ ← θ − η·b`.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::config::{OptimConfig, OptimizerKind, ScheduleKind, TrainConfig};
use crate::error::{Result, TrainError};
use crate::model::ParamGroups;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// One parameter with its optimizer buffers.
struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Option<Tensor>,
}

/// The optimizer state of both groups.
pub struct Optimizers {
    cfg: OptimConfig,
    iterations: usize,
    groups: [Vec<Slot>; 2],
    steps: usize,
}

impl Optimizers {
    /// Zero-initialized buffers for every trainable parameter.
    pub fn new(cfg: &TrainConfig, groups: ParamGroups) -> Result<Self> {
        let adam = cfg.optim.optimizer == OptimizerKind::Adamw;
        let slots = |vars: Vec<(String, Var)>| -> Result<Vec<Slot>> {
            vars.into_iter()
                .map(|(name, var)| {
                    let m = var.as_tensor().zeros_like()?;
                    let v = if adam { Some(m.clone()) } else { None };
                    Ok(Slot { name, var, m, v })
                })
                .collect()
        };
        Ok(Self {
            cfg: cfg.optim.clone(),
            iterations: cfg.run.iterations,
            groups: [slots(groups.backbone)?, slots(groups.head)?],
            steps: 0,
        })
    }

    /// Learning rates `(backbone, head)` at iteration `t` (0-based): linear warm-up over
    /// `optim.warmup` iterations, then constant, cosine to 0 at the last iteration, or step decay.
    pub fn learning_rates(&self, t: usize) -> (f64, f64) {
        let f = schedule_factor(&self.cfg, self.iterations, t);
        (self.cfg.lr_backbone * f, self.cfg.lr_head * f)
    }

    /// One update of every parameter with a gradient in `grads`.
    pub fn step(&mut self, grads: &GradStore, lr_backbone: f64, lr_head: f64) -> Result<()> {
        let scale = if self.cfg.grad_clip > 0.0 {
            let mut sq = 0f64;
            for slot in self.groups.iter().flatten() {
                if let Some(g) = grads.get(slot.var.as_tensor()) {
                    sq += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
                }
            }
            let norm = sq.sqrt();
            if norm > self.cfg.grad_clip { self.cfg.grad_clip / (norm + 1e-6) } else { 1.0 }
        } else {
            1.0
        };
        self.steps += 1;
        let s = self.steps as i32;
        let (c1, c2) = (1.0 - BETA1.powi(s), 1.0 - BETA2.powi(s));
        let wd = self.cfg.weight_decay;
        let mu = self.cfg.momentum;
        for (group, lr) in self.groups.iter_mut().zip([lr_backbone, lr_head]) {
            for slot in group.iter_mut() {
                let Some(g) = grads.get(slot.var.as_tensor()) else { continue };
                let g = if scale != 1.0 { g.affine(scale, 0.0)? } else { g.clone() };
                let theta = slot.var.as_tensor();
                match &mut slot.v {
                    Some(v) => {
                        slot.m = ((&slot.m * BETA1)? + (&g * (1.0 - BETA1))?)?;
                        *v = ((&*v * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
                        let denom = ((&*v / c2)?.sqrt()? + EPS)?;
                        let upd = ((&slot.m / c1)? / denom)?;
                        let next = ((theta * (1.0 - lr * wd))? - (upd * lr)?)?;
                        slot.var.set(&next)?;
                    }
                    None => {
                        let g = if wd > 0.0 { (g + (theta * wd)?)? } else { g };
                        slot.m = ((&slot.m * mu)? + g)?;
                        let next = (theta - (&slot.m * lr)?)?;
                        slot.var.set(&next)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Buffers by parameter name (`m.<name>`, `v.<name>`) and the step count (`steps`).
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        let mut map = HashMap::new();
        for slot in self.groups.iter().flatten() {
            map.insert(format!("m.{}", slot.name), slot.m.clone());
            if let Some(v) = &slot.v {
                map.insert(format!("v.{}", slot.name), v.clone());
            }
        }
        map.insert(
            "steps".into(),
            Tensor::new(&[self.steps as i64], &candle_core::Device::Cpu)?,
        );
        Ok(map)
    }

    /// Restores what [`Optimizers::state`] saved; nothing changes on error.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        let get = |k: &str, like: &Tensor| -> Result<Tensor> {
            let t = state.get(k).ok_or_else(|| TrainError::Component {
                what: "optimizer",
                message: format!("checkpoint lacks `optim.{k}`"),
            })?;
            if t.dims() != like.dims() {
                return Err(TrainError::Component {
                    what: "optimizer",
                    message: format!("`optim.{k}` has shape {:?}, expected {:?}", t.dims(), like.dims()),
                });
            }
            Ok(t.to_device(like.device())?.to_dtype(like.dtype())?)
        };
        let mut new = Vec::new();
        for slot in self.groups.iter().flatten() {
            let m = get(&format!("m.{}", slot.name), &slot.m)?;
            let v = slot.v.as_ref().map(|v| get(&format!("v.{}", slot.name), v)).transpose()?;
            new.push((m, v));
        }
        let steps = state
            .get("steps")
            .ok_or_else(|| TrainError::Component {
                what: "optimizer",
                message: "checkpoint lacks `optim.steps`".into(),
            })?
            .to_dtype(candle_core::DType::I64)?
            .to_vec1::<i64>()?;
        let steps = steps.first().copied().unwrap_or(0).max(0) as usize;
        for (slot, (m, v)) in self.groups.iter_mut().flatten().zip(new) {
            slot.m = m;
            slot.v = v;
        }
        self.steps = steps;
        Ok(())
    }
}

/// The learning-rate multiplier at iteration `t` of `total`.
pub fn schedule_factor(cfg: &OptimConfig, total: usize, t: usize) -> f64 {
    if t < cfg.warmup {
        return (t + 1) as f64 / cfg.warmup as f64;
    }
    let after = (t - cfg.warmup) as f64;
    match cfg.schedule {
        ScheduleKind::Constant => 1.0,
        ScheduleKind::Cosine => {
            let span = total.saturating_sub(cfg.warmup).max(1) as f64;
            0.5 * (1.0 + (std::f64::consts::PI * (after / span).min(1.0)).cos())
        }
        ScheduleKind::Step => cfg.gamma.powi((after / cfg.step_size.max(1) as f64).floor() as i32),
    }
}
