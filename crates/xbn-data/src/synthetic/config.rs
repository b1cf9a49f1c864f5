//! The knobs of the synthetic "product" dataset.

use crate::{DataError, Result};

/// Configuration of [`Synthetic`](super::Synthetic).
///
/// Class `c` (of `classes`) has `n_c ~ U{min_images_per_class, …, max_images_per_class}` images.
/// The first `round(train_fraction · classes)` classes form the training split (role `Train`),
/// the rest the class-disjoint test split (role `QueryAndReference`, evaluated leave-one-out as
/// on SOP).
///
/// `difficulty ∈ [0, 1]` scales every nuisance factor of a view linearly: rotation range
/// `± difficulty · π`, translation `± 0.3 · difficulty` (image coordinates `[−1, 1]`), scale jitter,
/// lighting gain/colour cast, background clutter count, occlusion probability and pixel noise.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Seed of everything: class recipes and views are pure functions of `(seed, class, instance)`.
    pub seed: u64,
    /// Number of classes (train + test).
    pub classes: usize,
    /// Fewest images of a class (≥ 2, so that leave-one-out retrieval has a positive).
    pub min_images_per_class: usize,
    /// Most images of a class.
    pub max_images_per_class: usize,
    /// Side of the square rendered images, in pixels.
    pub image_size: u32,
    /// Strength of the nuisance factors, in `[0, 1]`.
    pub difficulty: f32,
    /// Fraction of the classes in the training split, in `(0, 1)`.
    pub train_fraction: f32,
    /// Keep rendered images in memory (a few KiB each at the default size).
    pub cache: bool,
}

impl Default for SyntheticConfig {
    /// The small, fast default of the main job: 1,000 classes (500 train / 500 test) of 4–8
    /// images of 32 × 32 pixels, difficulty 0.4 — about 6,000 images, rendered in about half a
    /// second on one core and cached. Untrained features score Recall@1 ≈ 0.03 on its test split
    /// (raw pixels 0.030, random projection 0.028; chance 0.002), see `docs/benchmarks/data.md`.
    fn default() -> Self {
        SyntheticConfig {
            seed: 0,
            classes: 1000,
            min_images_per_class: 4,
            max_images_per_class: 8,
            image_size: 32,
            difficulty: 0.4,
            train_fraction: 0.5,
            cache: true,
        }
    }
}

impl SyntheticConfig {
    /// A full-size, SOP-like configuration: 12,000 classes of 2–12 images (about 84,000
    /// images) at 96 × 96 pixels, half the classes for training; not cached.
    pub fn full() -> Self {
        SyntheticConfig {
            classes: 12_000,
            min_images_per_class: 2,
            max_images_per_class: 12,
            image_size: 96,
            cache: false,
            ..SyntheticConfig::default()
        }
    }

    /// Checks that every field is in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(DataError::Config(format!("synthetic: {m}")));
        if self.classes < 2 {
            return bad(format!(
                "classes = {} (need ≥ 2: one train and one test)",
                self.classes
            ));
        }
        if self.min_images_per_class < 2 || self.max_images_per_class < self.min_images_per_class {
            return bad(format!(
                "images per class {}..={} (need 2 ≤ min ≤ max)",
                self.min_images_per_class, self.max_images_per_class
            ));
        }
        if !(8..=4096).contains(&self.image_size) {
            return bad(format!("image_size = {} (need 8..=4096)", self.image_size));
        }
        if !(0.0..=1.0).contains(&self.difficulty) {
            return bad(format!("difficulty = {} (need 0..=1)", self.difficulty));
        }
        let train = self.train_classes();
        if !(self.train_fraction > 0.0 && self.train_fraction < 1.0)
            || train == 0
            || train == self.classes
        {
            return bad(format!(
                "train_fraction = {} gives {train} of {} classes for training (need both splits \
                 non-empty)",
                self.train_fraction, self.classes
            ));
        }
        Ok(())
    }

    /// Number of training classes, `round(train_fraction · classes)`.
    pub fn train_classes(&self) -> usize {
        (self.train_fraction as f64 * self.classes as f64).round() as usize
    }
}
