//! The dataset side of training: the dataset index, `P × K` batches, the loaders that turn them
//! into network input (xbn-data's prefetching image `Loader`, or its `TextLoader` with the text
//! backbone's tokenizer) and the test protocol.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use xbn_data::loader::{Loader, LoaderConfig};
use xbn_data::text::{TextLoader, TextTokenizer};
use xbn_data::{DatasetIndex, DatasetKind, PkConfig, PkSampler, Role, Split};
use xbn_nn::model::{Input, InputSpec};

use super::batches::Batches;
use super::images::ImageTransform;
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};

/// The loader threads run at this lower priority, so that decoding fills the compute threads'
/// idle moments instead of preempting them: at the same priority, rayon's fork-join sections
/// wait for whichever compute thread a loader thread displaced.
const LOADER_NICE: i32 = 10;

/// How dataset items become network input.
#[derive(Debug)]
enum Pipeline {
    /// Images: the training and evaluation transforms of the backbone.
    Images {
        train: ImageTransform,
        eval: ImageTransform,
    },
    /// Texts: the text backbone's tokenizer.
    Texts(Arc<TextTokenizer>),
}

/// A loaded dataset with the input pipeline of the backbone.
#[derive(Debug)]
pub struct TrainData {
    kind: DatasetKind,
    index: Arc<DatasetIndex>,
    pipeline: Pipeline,
    workers: usize,
}

/// Whether a dataset kind holds texts.
fn holds_texts(kind: DatasetKind) -> bool {
    matches!(kind, DatasetKind::TextFolder | DatasetKind::Jsonl)
}

impl TrainData {
    /// Reads (or renders) the dataset of `cfg`, for a backbone expecting `spec`; a text
    /// backbone brings its `tokenizer`. A text dataset for an image backbone, or the reverse,
    /// is an error naming both.
    pub fn open(
        cfg: &TrainConfig,
        spec: &InputSpec,
        tokenizer: Option<Arc<TextTokenizer>>,
    ) -> Result<Self> {
        let kind: DatasetKind = cfg.data.dataset.parse()?;
        let pipeline = match (spec, tokenizer) {
            (InputSpec::Images(spec), _) if !holds_texts(kind) => Pipeline::Images {
                train: ImageTransform::train(spec, cfg.data.crop_scale),
                eval: ImageTransform::eval(spec, cfg.data.eval_resize),
            },
            (InputSpec::Tokens(_), Some(tokenizer)) if holds_texts(kind) => {
                Pipeline::Texts(tokenizer)
            }
            (InputSpec::Tokens(_), None) => {
                return Err(TrainError::Config(
                    "a text backbone needs its tokenizer".into(),
                ));
            }
            _ => {
                return Err(TrainError::Config(format!(
                    "data.dataset = \"{}\" holds {} but model.backbone = {:?} embeds {}",
                    cfg.data.dataset,
                    if holds_texts(kind) { "texts" } else { "images" },
                    cfg.model.backbone,
                    if cfg.model.backbone.is_text() {
                        "texts"
                    } else {
                        "images"
                    },
                )));
            }
        };
        let index = match kind {
            DatasetKind::Synthetic => super::synthetic::synthetic_index(cfg)?,
            _ => xbn_data::load_dataset(
                kind,
                &cfg.data.root,
                &xbn_data::LoadOptions {
                    text_unit: cfg.data.text_unit,
                    ..xbn_data::LoadOptions::default()
                },
            )?,
        };
        Ok(Self {
            kind,
            index: Arc::new(index),
            pipeline,
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
    /// ahead of the step, so decoding overlaps training (texts: tokenized as they are asked
    /// for). Batch `t` draws its augmentations from `(seed, t)` whatever the number of workers,
    /// and a loader started at `first_batch = t` (resume) gives the same batches as an
    /// uninterrupted run.
    pub fn train_loader(
        &self,
        batches: impl Iterator<Item = Vec<usize>> + Send + 'static,
        seed: u64,
        first_batch: usize,
        device: &Device,
    ) -> Result<Batches> {
        let train = match &self.pipeline {
            Pipeline::Images { train, .. } => train,
            Pipeline::Texts(tokenizer) => {
                return Ok(self.text_loader(batches, tokenizer, first_batch, device));
            }
        };
        let config = LoaderConfig {
            workers: self.workers,
            prefetch: 2 * self.workers,
            seed,
            first_batch,
            nice: LOADER_NICE,
            ..LoaderConfig::default()
        };
        Ok(Batches::Images(Box::new(Loader::new(
            self.index.clone(),
            batches,
            train.transform(),
            config,
            device.clone(),
        )?)))
    }

    fn text_loader(
        &self,
        batches: impl Iterator<Item = Vec<usize>> + Send + 'static,
        tokenizer: &Arc<TextTokenizer>,
        first_batch: usize,
        device: &Device,
    ) -> Batches {
        Batches::Texts(TextLoader::new(
            self.index.clone(),
            batches,
            tokenizer.clone(),
            first_batch,
            device.clone(),
        ))
    }

    /// The views `(dataset index, augmentation seed)` again, as network input on `device`:
    /// images `(n, 3, h, w)` from the training transform with each view's seed, or the
    /// evaluation transform for views embedded without augmentation (seed
    /// [`xbn_memory::NO_AUGMENTATION`]); texts tokenized again (they are not augmented).
    pub fn render_views(&self, views: &[(usize, u64)], device: &Device) -> Result<Input> {
        let (train, eval) = match &self.pipeline {
            Pipeline::Images { train, eval } => (train, eval),
            Pipeline::Texts(tokenizer) => {
                let indices: Vec<usize> = views.iter().map(|&(i, _)| i).collect();
                let mut loader = self.text_loader(std::iter::once(indices), tokenizer, 0, device);
                return match loader.next() {
                    Some(batch) => Ok(batch?.input),
                    None => Err(TrainError::Config("no views to render".into())),
                };
            }
        };
        Ok(Input::Images(
            self.render_images(views, train, eval, device)?,
        ))
    }

    fn render_images(
        &self,
        views: &[(usize, u64)],
        train: &ImageTransform,
        eval: &ImageTransform,
        device: &Device,
    ) -> Result<Tensor> {
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
            return render(views, if plain { eval } else { train });
        }
        // Mixed (a warm start's entries beside augmented ones): one row at a time, in order.
        let rows = views
            .iter()
            .map(|&v| {
                let t = if v.1 == xbn_memory::NO_AUGMENTATION {
                    eval
                } else {
                    train
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
    ) -> Result<Batches> {
        let batches: Vec<Vec<usize>> = indices
            .chunks(batch_size.max(1))
            .map(<[usize]>::to_vec)
            .collect();
        let eval = match &self.pipeline {
            Pipeline::Images { eval, .. } => eval,
            Pipeline::Texts(tokenizer) => {
                return Ok(self.text_loader(batches.into_iter(), tokenizer, 0, device));
            }
        };
        let config = LoaderConfig {
            workers: self.workers,
            prefetch: 2 * self.workers,
            nice: LOADER_NICE,
            ..LoaderConfig::default()
        };
        Ok(Batches::Images(Box::new(Loader::new(
            self.index.clone(),
            batches.into_iter(),
            eval.transform(),
            config,
            device.clone(),
        )?)))
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
