//! The trainer's optimizer: the `optim` module's AdamW or SGD over two parameter groups
//! (`backbone`, `head`, each with its own learning rate), the learning-rate schedule of
//! `[optim]` and optional clipping of the global gradient norm.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::config::{OptimizerKind, ScheduleKind, TrainConfig};
use crate::error::{Result, TrainError};
use xbn_nn::model::ParamGroups;
use xbn_nn::optim::{
    AdamW, AdamWConfig, Decay, LrSchedule, Optimizer, ParamGroup, Sgd, SgdConfig, clip_grad_norm,
};

/// Optimizer, schedule and clipping of a run.
pub struct Optimizers {
    inner: Box<dyn Optimizer>,
    schedule: LrSchedule,
    clip: f64,
    params: Vec<Var>,
    base: (f64, f64),
}

impl Optimizers {
    /// The optimizer of `[optim]` over the backbone and head groups.
    ///
    /// `loss_params` (proxy-anchor's proxies) form a third group at the head's rate.
    pub fn new(
        cfg: &TrainConfig,
        groups: ParamGroups,
        loss_params: Vec<(String, Var)>,
    ) -> Result<Self> {
        let o = &cfg.optim;
        let params: Vec<Var> = groups
            .backbone
            .iter()
            .chain(&groups.head)
            .chain(&loss_params)
            .map(|(_, v)| v.clone())
            .collect();
        let mut g = vec![
            ParamGroup::new("backbone", o.lr_backbone, o.weight_decay, groups.backbone),
            ParamGroup::new("head", o.lr_head, o.weight_decay, groups.head),
        ];
        if !loss_params.is_empty() {
            g.push(ParamGroup::new("loss", o.lr_head, 0.0, loss_params));
        }
        let inner: Box<dyn Optimizer> = match o.optimizer {
            OptimizerKind::Adamw => Box::new(AdamW::new(g, AdamWConfig::default())?),
            OptimizerKind::Adam => Box::new(AdamW::new(g, AdamWConfig::adam_l2())?),
            OptimizerKind::Sgd => Box::new(Sgd::new(
                g,
                SgdConfig {
                    momentum: o.momentum,
                    ..SgdConfig::default()
                },
            )?),
        };
        let schedule = LrSchedule {
            warmup_iters: o.warmup,
            warmup_start_factor: if o.warmup > 0 {
                1.0 / o.warmup as f64
            } else {
                1.0
            },
            total_iters: cfg.run.iterations,
            decay: match o.schedule {
                ScheduleKind::Constant => Decay::Constant,
                ScheduleKind::Cosine => Decay::Cosine { min_factor: 0.0 },
                ScheduleKind::Step => Decay::Step {
                    every: o.step_size,
                    gamma: o.gamma,
                },
            },
        };
        schedule
            .validate()
            .map_err(|e| TrainError::Config(format!("[optim]: {e}")))?;
        Ok(Self {
            inner,
            schedule,
            clip: o.grad_clip,
            params,
            base: (o.lr_backbone, o.lr_head),
        })
    }

    /// Learning rates `(backbone, head)` at iteration `t` (0-based).
    pub fn learning_rates(&self, t: usize) -> (f64, f64) {
        let f = self.schedule.factor(t);
        (self.base.0 * f, self.base.1 * f)
    }

    /// One update at iteration `t`: clip (when `optim.grad_clip > 0`), then step.
    pub fn step(&mut self, grads: &mut GradStore, t: usize) -> Result<()> {
        if self.clip > 0.0 {
            clip_grad_norm(grads, &self.params, self.clip)?;
        }
        self.inner.set_lr_factor(self.schedule.factor(t));
        self.inner.step(grads).map_err(TrainError::from)
    }

    /// The optimizer state for a checkpoint.
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        Ok(self.inner.state())
    }

    /// Restores the optimizer state; nothing changes on error.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        self.inner.load_state(state).map_err(TrainError::from)
    }
}
