//! The trainer's optimizer: the `optim` module's AdamW or SGD over two parameter groups
//! (`backbone`, `head`, each with its own learning rate; with `optim.layer_decay < 1` the
//! backbone group is split by layer depth), the learning-rate schedule of `[optim]` and optional
//! clipping of the global gradient norm.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::config::{OptimizerKind, ScheduleKind, TrainConfig};
use crate::error::{Result, TrainError};
use xbn_nn::model::Backbone;
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
    /// The optimizer of `[optim]` over the backbone and head groups of `backbone`.
    ///
    /// `loss_params` (proxy-anchor's proxies) form a third group at the head's rate. With
    /// layer-wise decay (`optim.layer_decay = λ < 1`) a backbone parameter at depth `l` of `L`
    /// ([`Backbone::layer_depth`]) trains at `lr_backbone · λ^(L − l)`, in group
    /// `backbone.depth{l}`.
    pub fn new(
        cfg: &TrainConfig,
        backbone: &dyn Backbone,
        loss_params: Vec<(String, Var)>,
    ) -> Result<Self> {
        let groups = backbone.param_groups();
        let o = &cfg.optim;
        let params: Vec<Var> = groups
            .backbone
            .iter()
            .chain(&groups.head)
            .chain(&loss_params)
            .map(|(_, v)| v.clone())
            .collect();
        let mut g = backbone_groups(cfg, backbone, groups.backbone);
        g.push(ParamGroup::new(
            "head",
            o.lr_head,
            o.weight_decay,
            groups.head,
        ));
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

/// The backbone's parameter groups: one at `lr_backbone`, or one per layer depth under
/// layer-wise decay (parameters without a depth stay at `lr_backbone`).
fn backbone_groups(
    cfg: &TrainConfig,
    backbone: &dyn Backbone,
    params: Vec<(String, Var)>,
) -> Vec<ParamGroup> {
    let o = &cfg.optim;
    let depth = backbone.depth();
    if o.layer_decay >= 1.0 || depth == 0 {
        return vec![ParamGroup::new(
            "backbone",
            o.lr_backbone,
            o.weight_decay,
            params,
        )];
    }
    let mut by_depth: std::collections::BTreeMap<usize, Vec<(String, Var)>> = Default::default();
    for (name, var) in params {
        let l = backbone.layer_depth(&name).unwrap_or(depth).min(depth);
        by_depth.entry(l).or_default().push((name, var));
    }
    by_depth
        .into_iter()
        .map(|(l, params)| {
            let lr = o.lr_backbone * o.layer_decay.powi((depth - l) as i32);
            ParamGroup::new(format!("backbone.depth{l}"), lr, o.weight_decay, params)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use xbn_nn::model::{VisionTransformer, VitConfig, VitFlavor};

    #[test]
    fn layer_decay_gives_each_depth_its_rate() {
        let mut config = VitConfig::sized(VitFlavor::Vit, 8, 2, 2, 4, 4);
        config.input_size = 8;
        let vit = VisionTransformer::new(&config, DType::F32, &Device::Cpu).unwrap();
        let mut cfg = TrainConfig::default();
        cfg.optim.lr_backbone = 1.0;
        cfg.optim.layer_decay = 0.5;
        let groups = backbone_groups(&cfg, &vit, vit.param_groups().backbone);
        let rate = |name: &str| -> f64 {
            groups
                .iter()
                .find(|g| g.params.iter().any(|(n, _)| n == name))
                .unwrap_or_else(|| panic!("{name} in no group"))
                .lr
        };
        // Depth L = 3: embeddings 0, layers 1 and 2, the final norm 3.
        assert_eq!(rate("embeddings.cls_token"), 0.125);
        assert_eq!(
            rate("encoder.layer.0.attention.attention.query.weight"),
            0.25
        );
        assert_eq!(rate("encoder.layer.1.output.dense.bias"), 0.5);
        assert_eq!(rate("layernorm.weight"), 1.0);
        assert_eq!(groups.len(), 4);
        let total: usize = groups.iter().map(|g| g.params.len()).sum();
        assert_eq!(total, vit.param_groups().backbone.len());

        cfg.optim.layer_decay = 1.0;
        let one = backbone_groups(&cfg, &vit, vit.param_groups().backbone);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].name, "backbone");
    }
}
