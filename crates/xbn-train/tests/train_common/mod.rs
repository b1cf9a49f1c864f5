//! Shared helpers of the training tests: a tiny synthetic configuration that trains in seconds.

#![allow(dead_code)]

use std::path::Path;

use xbn_train::config::{NormKind, TrainConfig};

/// A configuration that trains a very small CNN on a tiny synthetic dataset in a few seconds.
pub fn tiny_config(dir: &Path, name: &str) -> TrainConfig {
    let mut c = TrainConfig::default();
    c.run.name = name.into();
    c.run.output_dir = dir.to_path_buf();
    c.run.device = std::env::var("XBN_TEST_DEVICE").unwrap_or_else(|_| "cpu".into());
    c.run.iterations = 6;
    c.run.log_every = 1;
    c.run.eval_every = 3;
    c.run.checkpoint_every = 3;
    c.run.measure_drift = 2;
    c.run.drift_sample = 8;
    c.run.eval_untrained = true;
    c.run.progress = false;
    c.data.image_size = 16;
    c.data.classes_per_batch = 4;
    c.data.images_per_class = 2;
    c.data.workers = 1;
    c.data.synthetic.classes = 24;
    c.data.synthetic.min_images_per_class = 3;
    c.data.synthetic.max_images_per_class = 4;
    c.model.channels = vec![8, 16];
    c.model.embedding_dim = 16;
    c.memory.size = 24;
    c.memory.t_start = 2;
    c.norm.kind = NormKind::Axbn;
    c.optim.warmup = 2;
    c.eval.k = vec![1, 2];
    c.eval.batch_size = 32;
    c
}
