//! `Synthetic`: a deterministic, seeded dataset of "product" images rendered in memory.
//!
//! Each class is a random composition of 2–4 textured, coloured shapes ([`ClassRecipe`]); each
//! image a random view of it ([`View`]): rotation, scale, translation, part jitter, lighting
//! and colour cast, a patterned background with clutter shapes, an occluder and pixel noise,
//! all scaled by [`SyntheticConfig::difficulty`]. Like SOP, the split is class-disjoint: the
//! first classes train, the others are the leave-one-out test set.
//!
//! Pixels are a pure function of `(seed, class, instance)`, so any thread renders the same image.
//!
//! ```
//! use xbn_data::synthetic::{Synthetic, SyntheticConfig};
//! use xbn_data::{Role, Split};
//!
//! let config = SyntheticConfig { classes: 10, ..SyntheticConfig::default() };
//! let index = Synthetic::dataset(config)?;
//! let test = index.split_indices(Split::Test);
//! assert!(test.iter().all(|&i| index.items[i].role == Role::QueryAndReference));
//! # Ok::<(), xbn_data::DataError>(())
//! ```

mod config;
mod layer;
mod recipe;
mod render;
mod shape;

use std::sync::{Arc, OnceLock};

use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use config::SyntheticConfig;
pub use recipe::{ClassRecipe, View};

use crate::seed::splitmix64;
use crate::{DatasetIndex, ImageProvider, Item, ItemSource, Result, Role, Split};

/// The synthetic dataset: its configuration, the `(class, instance)` of every image and an
/// optional cache of rendered images.
#[derive(Debug)]
pub struct Synthetic {
    config: SyntheticConfig,
    images: Vec<(u32, u32)>,
    cache: Option<Vec<OnceLock<RgbImage>>>,
}

/// The RNG of stream `(seed, class, tag)`.
fn stream(seed: u64, class: u32, tag: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(splitmix64(
        splitmix64(splitmix64(seed) ^ class as u64) ^ tag,
    ))
}

const RECIPE: u64 = u64::MAX;
const COUNT: u64 = u64::MAX - 1;

impl Synthetic {
    /// Lays out the dataset (nothing is rendered yet).
    pub fn new(config: SyntheticConfig) -> Result<Synthetic> {
        config.validate()?;
        let mut images = Vec::new();
        for class in 0..config.classes as u32 {
            let n = stream(config.seed, class, COUNT)
                .random_range(config.min_images_per_class..=config.max_images_per_class);
            images.extend((0..n as u32).map(|i| (class, i)));
        }
        let cache = config
            .cache
            .then(|| (0..images.len()).map(|_| OnceLock::new()).collect());
        Ok(Synthetic {
            config,
            images,
            cache,
        })
    }

    /// The dataset index of a new `Synthetic` (named `synthetic`).
    pub fn dataset(config: SyntheticConfig) -> Result<DatasetIndex> {
        Ok(Arc::new(Synthetic::new(config)?).index())
    }

    /// The index: items in class order, classes `0..train_classes()` in split `Train` (role
    /// `Train`), the others in `Test` (role `QueryAndReference`).
    pub fn index(self: &Arc<Self>) -> DatasetIndex {
        let train = self.config.train_classes() as u32;
        let provider: Arc<dyn ImageProvider> = self.clone();
        let items = self
            .images
            .iter()
            .enumerate()
            .map(|(index, &(class, _))| {
                let (split, role) = if class < train {
                    (Split::Train, Role::Train)
                } else {
                    (Split::Test, Role::QueryAndReference)
                };
                Item {
                    source: ItemSource::Provided {
                        provider: provider.clone(),
                        index,
                    },
                    label: class,
                    split,
                    role,
                }
            })
            .collect();
        DatasetIndex {
            name: "synthetic".into(),
            items,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SyntheticConfig {
        &self.config
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there are no images (never, for a valid configuration).
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// `(class, instance)` of image `index`.
    pub fn class_instance(&self, index: usize) -> Option<(u32, u32)> {
        self.images.get(index).copied()
    }

    /// The recipe of `class`, a pure function of `(seed, class)`.
    pub fn recipe(&self, class: u32) -> ClassRecipe {
        ClassRecipe::sample(&mut stream(self.config.seed, class, RECIPE))
    }

    /// Renders view `instance` of `class`, a pure function of `(seed, class, instance)` (any
    /// instance number works, not only those in the index).
    pub fn render(&self, class: u32, instance: u32) -> RgbImage {
        let mut rng = stream(self.config.seed, class, instance as u64);
        let view = View::sample(&self.recipe(class), self.config.difficulty, &mut rng);
        render::render(&view, self.config.image_size, &mut rng)
    }
}

impl ImageProvider for Synthetic {
    fn image(&self, index: usize) -> Result<RgbImage> {
        let (class, instance) = self.class_instance(index).ok_or_else(|| {
            crate::DataError::Config(format!(
                "synthetic image {index} out of range (dataset has {})",
                self.images.len()
            ))
        })?;
        match &self.cache {
            Some(cache) => Ok(cache[index]
                .get_or_init(|| self.render(class, instance))
                .clone()),
            None => Ok(self.render(class, instance)),
        }
    }

    fn describe(&self, index: usize) -> String {
        match self.class_instance(index) {
            Some((c, i)) => {
                format!(
                    "synthetic(seed={}, class={c}, instance={i})",
                    self.config.seed
                )
            }
            None => format!("synthetic(image {index}, out of range)"),
        }
    }
}
