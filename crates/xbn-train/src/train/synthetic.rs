//! The synthetic dataset of a configuration (`data.dataset = "synthetic"`).

use xbn_data::DatasetIndex;
use xbn_data::synthetic::{Synthetic, SyntheticConfig};

use crate::config::TrainConfig;
use crate::error::Result;

/// xbn-data's synthetic dataset with the sizes of `[data.synthetic]`, rendered at
/// `data.image_size` pixels and seeded by `data.synthetic.seed` (default `run.seed`).
pub fn synthetic_config(cfg: &TrainConfig) -> SyntheticConfig {
    let s = &cfg.data.synthetic;
    SyntheticConfig {
        seed: s.seed.unwrap_or(cfg.run.seed),
        classes: s.classes,
        min_images_per_class: s.min_images_per_class,
        max_images_per_class: s.max_images_per_class,
        image_size: cfg.data.image_size as u32,
        difficulty: s.difficulty,
        train_fraction: s.train_fraction,
        cache: true,
    }
}

/// The dataset index of the synthetic dataset of `cfg`.
pub fn synthetic_index(cfg: &TrainConfig) -> Result<DatasetIndex> {
    Ok(Synthetic::dataset(synthetic_config(cfg))?)
}
