//! Validation of a configuration before any work starts: every problem found is reported in
//! one message.

use std::collections::HashMap;

use super::{SmallClassPolicy, TrainConfig};
use crate::error::{Result, TrainError};

/// Checks the values that do not depend on the dataset.
pub fn validate(cfg: &TrainConfig) -> Result<()> {
    let mut problems = Vec::new();
    let b = cfg.batch_size();
    if cfg.data.classes_per_batch < 2 {
        problems.push(format!(
            "data.classes_per_batch = {} must be at least 2 (a batch needs negatives)",
            cfg.data.classes_per_batch
        ));
    }
    if cfg.data.images_per_class < 2 {
        problems.push(format!(
            "data.images_per_class = {} must be at least 2 (a batch needs positives)",
            cfg.data.images_per_class
        ));
    }
    if cfg.memory.size > 0 && cfg.memory.size < b {
        problems.push(format!(
            "memory.size = {} is smaller than one batch (data.classes_per_batch × data.images_per_class = {b}); use 0 for no memory or at least {b}",
            cfg.memory.size
        ));
    }
    if cfg.run.iterations == 0 {
        problems.push("run.iterations must be at least 1".into());
    }
    if cfg.run.log_every == 0 {
        problems.push("run.log_every must be at least 1".into());
    }
    if cfg.run.measure_drift > 0 && cfg.run.drift_sample == 0 {
        problems.push("run.drift_sample must be at least 1 when run.measure_drift is on".into());
    }
    if cfg.data.image_size < 8 {
        problems.push(format!(
            "data.image_size = {} is below 8 pixels",
            cfg.data.image_size
        ));
    }
    let [lo, hi] = cfg.data.crop_scale;
    if !(lo > 0.0 && lo <= hi && hi <= 1.0) {
        problems.push(format!(
            "data.crop_scale = [{lo}, {hi}] must satisfy 0 < low ≤ high ≤ 1"
        ));
    }
    if cfg.data.eval_resize != 0 && cfg.data.eval_resize < cfg.data.image_size {
        problems.push(format!(
            "data.eval_resize = {} is below data.image_size = {} (the centre crop would not fit)",
            cfg.data.eval_resize, cfg.data.image_size
        ));
    }
    if cfg.model.embedding_dim == 0 && !cfg.model.backbone.is_text() {
        problems.push(
            "model.embedding_dim must be at least 1 (0, no head, is for text backbones)".into(),
        );
    }
    if cfg.model.backbone.is_text() && cfg.model.weights.trim().is_empty() {
        problems.push(format!(
            "model.backbone = {:?} needs model.weights: a checkpoint folder or hf:<repo> with config.json and tokenizer.json",
            cfg.model.backbone
        ));
    }
    if cfg.model.backbone.is_text() {
        if cfg.model.pooling.for_text(None).is_none() {
            problems.push(format!(
                "model.pooling = {:?} is a CNN pooling; text backbones take auto, avg or cls",
                cfg.model.pooling
            ));
        }
    } else if cfg.model.backbone.vit_flavor().is_some() {
        if cfg.model.pooling.for_vit().is_none() {
            problems.push(format!(
                "model.pooling = {:?} is a CNN pooling; vision transformers take auto, cls or avg (mean of the patch tokens)",
                cfg.model.pooling
            ));
        }
    } else if cfg.model.pooling.for_cnn().is_none() {
        problems.push(format!(
            "model.pooling = {:?} needs a transformer backbone; CNNs take auto, avg, max or avg+max",
            cfg.model.pooling
        ));
    }
    if !(cfg.optim.layer_decay > 0.0 && cfg.optim.layer_decay <= 1.0) {
        problems.push(format!(
            "optim.layer_decay = {} must be in (0, 1] (1: off)",
            cfg.optim.layer_decay
        ));
    } else if cfg.optim.layer_decay < 1.0 && !cfg.model.backbone.is_transformer() {
        problems.push(format!(
            "optim.layer_decay = {} needs a transformer backbone ({:?} has no layers to decay over)",
            cfg.optim.layer_decay, cfg.model.backbone
        ));
    }
    for (key, v) in [
        ("optim.lr_backbone", cfg.optim.lr_backbone),
        ("optim.lr_head", cfg.optim.lr_head),
        ("optim.weight_decay", cfg.optim.weight_decay),
        ("optim.momentum", cfg.optim.momentum),
        ("optim.grad_clip", cfg.optim.grad_clip),
        ("memory.weight", cfg.memory.weight),
        ("norm.q", cfg.norm.q),
        ("norm.trend_rate", cfg.norm.trend_rate),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            problems.push(format!("{key} = {v} must be finite and non-negative"));
        }
    }
    if !cfg.loss.margin.is_finite() {
        problems.push(format!("loss.margin = {} must be finite", cfg.loss.margin));
    }
    if !(cfg.norm.eps.is_finite() && cfg.norm.eps > 0.0) {
        problems.push(format!("norm.eps = {} must be positive", cfg.norm.eps));
    }
    if cfg.optim.warmup > cfg.run.iterations {
        problems.push(format!(
            "optim.warmup = {} is longer than run.iterations = {}",
            cfg.optim.warmup, cfg.run.iterations
        ));
    }
    if cfg.eval.k.contains(&0) {
        problems.push("eval.k must not contain 0".into());
    }
    if cfg.eval.batch_size == 0 {
        problems.push("eval.batch_size must be at least 1".into());
    }
    let metric = cfg.eval.best_metric.as_str();
    let known = matches!(metric, "map@r" | "r_precision" | "precision@1")
        || metric
            .strip_prefix("recall@")
            .and_then(|k| k.parse::<usize>().ok())
            .is_some_and(|k| cfg.eval.k.is_empty() || cfg.eval.k.contains(&k));
    if !known {
        problems.push(format!(
            "eval.best_metric = `{metric}`: expected recall@K with K in eval.k {:?}, map@r, r_precision or precision@1",
            cfg.eval.k
        ));
    }
    finish(problems)
}

/// Checks `P × K` against the training classes: `class_sizes` maps each training class to its
/// number of images.
pub fn validate_sampling(cfg: &TrainConfig, class_sizes: &HashMap<u32, usize>) -> Result<()> {
    let (p, k) = (cfg.data.classes_per_batch, cfg.data.images_per_class);
    let usable = match cfg.data.small_classes {
        SmallClassPolicy::WithReplacement => class_sizes.values().filter(|&&n| n > 0).count(),
        SmallClassPolicy::Skip => class_sizes.values().filter(|&&n| n >= k).count(),
    };
    let mut problems = Vec::new();
    if usable < p {
        problems.push(format!(
            "impossible P × K = {p} × {k} for dataset `{}`: only {usable} training classes {} (of {})",
            cfg.data.dataset,
            match cfg.data.small_classes {
                SmallClassPolicy::WithReplacement => "have images",
                SmallClassPolicy::Skip => "have at least K images",
            },
            class_sizes.len()
        ));
    }
    finish(problems)
}

fn finish(problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TrainError::Config(problems.join("; ")))
    }
}
