//! The dataset side of training: the dataset index, `P × K` batches, the loaders that turn them
//! into image tensors (xbn-data's prefetching `Loader`) and the test protocol.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use xbn_data::loader::{Loader, LoaderConfig};
use xbn_data::{DatasetIndex, DatasetKind, PkConfig, PkSampler, Role, Split};

use super::images::ImageTransform;
use crate::config::TrainConfig;
use crate::error::Result;
use xbn_nn::model::InputSpec;

/// The loader threads run at this lower priority, so that decoding fills the compute threads'
/// idle moments instead of preempting them: at the same priority, rayon's fork-join sections
/// wait for whichever compute thread a loader thread displaced.
const LOADER_NICE: i32 = 10;

/// A loaded dataset with the image transforms of the backbone.
#[derive(Debug)]
pub struct TrainData {
    kind: DatasetKind,
    index: Arc<DatasetIndex>,
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
            index: Arc::new(index),
            train: ImageTransform::train(spec, cfg.data.crop_scale),
            eval: ImageTransform::eval(spec, cfg.data.eval_resize),
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

    /// The training loader: `batches` (the `P × K` sampler, advanced to batch `first_batch`)
    /// turned into augmented images by `data.workers` threads, up to twice as many batches
    /// ahead of the step, so decoding overlaps training. Batch `t` draws its augmentations from
    /// `(seed, t)` whatever the number of workers, and a loader started at `first_batch = t`
    /// (resume) gives the same batches as an uninterrupted run.
    pub fn train_loader(
        &self,
        batches: impl Iterator<Item = Vec<usize>> + Send + 'static,
        seed: u64,
        first_batch: usize,
        device: &Device,
    ) -> Result<Loader> {
        let config = LoaderConfig {
            workers: self.workers,
            prefetch: 2 * self.workers,
            seed,
            first_batch,
            nice: LOADER_NICE,
            ..LoaderConfig::default()
        };
        Ok(Loader::new(
            self.index.clone(),
            batches,
            self.train.transform(),
            config,
            device.clone(),
        )?)
    }

    /// The views `(dataset index, augmentation seed)` again, as `(n, 3, h, w)` on `device`:
    /// the training transform with each view's seed, or the evaluation transform for views
    /// embedded without augmentation (seed [`xbn_memory::NO_AUGMENTATION`]).
    pub fn render_views(&self, views: &[(usize, u64)], device: &Device) -> Result<Tensor> {
        let plain = views
            .iter()
            .all(|&(_, seed)| seed == xbn_memory::NO_AUGMENTATION);
        let augmented = views
            .iter()
            .all(|&(_, seed)| seed != xbn_memory::NO_AUGMENTATION);
        let render = |views: &[(usize, u64)], t: &ImageTransform| -> Result<Tensor> {
            Ok(xbn_data::loader::render_views(
                &self.index,
                &*t.transform(),
                views,
                self.workers,
                device,
            )?)
        };
        if plain || augmented {
            return render(views, if plain { &self.eval } else { &self.train });
        }
        // Mixed (a warm start's entries beside augmented ones): one row at a time, in order.
        let rows = views
            .iter()
            .map(|&v| {
                let t = if v.1 == xbn_memory::NO_AUGMENTATION {
                    &self.eval
                } else {
                    &self.train
                };
                render(&[v], t)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&rows, 0)?)
    }

    /// A loader of the evaluation transform over `indices` in batches of `batch_size`, in order.
    pub fn eval_loader(
        &self,
        indices: &[usize],
        batch_size: usize,
        device: &Device,
    ) -> Result<Loader> {
        let batches: Vec<Vec<usize>> = indices
            .chunks(batch_size.max(1))
            .map(<[usize]>::to_vec)
            .collect();
        let config = LoaderConfig {
            workers: self.workers,
            prefetch: 2 * self.workers,
            nice: LOADER_NICE,
            ..LoaderConfig::default()
        };
        Ok(Loader::new(
            self.index.clone(),
            batches.into_iter(),
            self.eval.transform(),
            config,
            device.clone(),
        )?)
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
