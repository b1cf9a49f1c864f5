//! Vision transformers in the trainer: ViT, DINOv2 and CLIP's image tower, from small random
//! weights, train on the synthetic set (the loss falls over 20 iterations), with layer-wise
//! learning-rate decay on.

mod train_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use xbn_train::config::{Backbone, NormKind};
use xbn_train::outputs::metrics::read_records;
use xbn_train::train::train;

#[test]
fn vision_transformers_train_on_the_synthetic_set() {
    let dir = tempfile::tempdir().unwrap();
    for backbone in [Backbone::Vit, Backbone::Dinov2, Backbone::ClipVision] {
        let name = format!("{backbone:?}").to_lowercase();
        let mut cfg = train_common::tiny_config(dir.path(), &name);
        cfg.model.backbone = backbone;
        cfg.model.variant = "32x2x4/4".into();
        cfg.model.image_size = 16;
        cfg.model.embedding_dim = 16;
        cfg.optim.layer_decay = 0.75;
        cfg.optim.warmup = 0;
        cfg.optim.lr_backbone = 3e-4;
        cfg.optim.lr_head = 1e-3;
        cfg.memory.size = 0;
        cfg.norm.kind = NormKind::None;
        cfg.run.iterations = 20;
        cfg.run.eval_every = 20;
        cfg.run.checkpoint_every = 20;
        cfg.run.measure_drift = 0;
        cfg.run.eval_untrained = false;
        let out = train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
        assert_eq!(out.iterations, 20);
        let losses: Vec<f64> = read_records(&dir.path().join(&name).join("metrics.jsonl"))
            .unwrap()
            .into_iter()
            .filter_map(|r| r.loss.get("total").copied())
            .collect();
        assert_eq!(losses.len(), 20, "{name}");
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        let (first, last) = (mean(&losses[..5]), mean(&losses[15..]));
        assert!(
            last < 0.8 * first,
            "{name}: loss {first:.4} → {last:.4} over 20 iterations: {losses:?}"
        );
    }
}
