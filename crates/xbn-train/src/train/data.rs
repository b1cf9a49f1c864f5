//! The dataset side of training: the dataset index, `P × K` batches, image tensors and the
//! test protocol.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use xbn_data::{DatasetIndex, DatasetKind, PkConfig, PkSampler, Role, Split};

use super::images::{ImageTransform, load_batch};
use crate::config::TrainConfig;
use crate::error::Result;
use xbn_nn::model::InputSpec;

/// A loaded dataset with the image transforms of the backbone.
#[derive(Debug)]
pub struct TrainData {
    kind: DatasetKind,
    index: DatasetIndex,
    train: ImageTransform,
    eval: ImageTransform,
    workers: usize,
}

impl TrainData {
    /// Reads (or renders) the dataset of `cfg`, for a backbone expecting `spec`.
    pub fn open(cfg: &TrainConfig, spec: &InputSpec) -> Result<Self> {
        let kind: DatasetKind = cfg.data.dataset.parse()?;
        let index = match kind {
            DatasetKind::Synthetic => super::synthetic::synthetic_index(cfg)?,
            _ => xbn_data::load_dataset(kind, &cfg.data.root, &xbn_data::LoadOptions::default())?,
        };
        Ok(Self {
            kind,
            index,
            train: ImageTransform::train(spec),
            eval: ImageTransform::eval(spec),
            workers: cfg.data.workers.max(1),
        })
    }

    /// The dataset index.
    pub fn index(&self) -> &DatasetIndex {
        &self.index
    }

    /// Images per training class.
    pub fn class_sizes(&self) -> HashMap<u32, usize> {
        let mut sizes = HashMap::new();
        for i in self.index.split_indices(Split::Train) {
            *sizes.entry(self.index.items[i].label).or_insert(0) += 1;
        }
        sizes
    }

    /// Indices of the training items.
    pub fn train_indices(&self) -> Vec<usize> {
        self.index.split_indices(Split::Train)
    }

    /// The `P × K` sampler of the training split, seeded by `run.seed`.
    pub fn sampler(&self, cfg: &TrainConfig) -> Result<PkSampler> {
        Ok(PkSampler::new(
            &self.index,
            Split::Train,
            PkConfig {
                p: cfg.data.classes_per_batch,
                k: cfg.data.images_per_class,
                small_classes: cfg.data.small_classes,
                seed: cfg.run.seed,
            },
        )?)
    }

    /// Labels of `indices`.
    pub fn labels_of(&self, indices: &[usize]) -> Vec<i64> {
        indices
            .iter()
            .map(|&i| i64::from(self.index.items[i].label))
            .collect()
    }

    /// A training batch `(b, 3, H, W)` with random augmentation drawn from `seed`.
    pub fn train_images(&self, indices: &[usize], seed: u64, device: &Device) -> Result<Tensor> {
        load_batch(
            &self.index,
            indices,
            &self.train,
            Some(seed),
            self.workers,
            device,
        )
    }

    /// An evaluation batch `(b, 3, H, W)` (deterministic transform).
    pub fn eval_images(&self, indices: &[usize], device: &Device) -> Result<Tensor> {
        load_batch(&self.index, indices, &self.eval, None, self.workers, device)
    }

    /// The test protocol: queries, and the gallery for query-vs-gallery datasets (`None`:
    /// leave-one-out over the queries).
    pub fn test_protocol(&self) -> (Vec<usize>, Option<Vec<usize>>) {
        let gallery = self.index.role_indices(Role::Gallery);
        if gallery.is_empty() {
            (self.index.split_indices(Split::Test), None)
        } else {
            (self.index.role_indices(Role::Query), Some(gallery))
        }
    }

    /// The Recall@K list the literature reports for this dataset.
    pub fn standard_ks(&self) -> Vec<usize> {
        match self.kind {
            DatasetKind::Sop => vec![1, 10, 100, 1000],
            DatasetKind::InShop | DatasetKind::DeepFashion2 => vec![1, 10, 20, 30, 40, 50],
            _ => vec![1, 2, 4, 8],
        }
    }
}
