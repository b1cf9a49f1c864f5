//! Turning dataset items into normalized `(N, 3, H, W)` batches with xbn-data's image pipeline
//! (`xbn_data::pipeline`): decode (or render) and crop by `load_image`, then `TrainTransform`
//! (random resized crop, flip) or `EvalTransform` (resize, centre crop), and normalization
//! `x = (pixel/255 − mean) / std` with the backbone's mean and std.

use std::sync::Arc;

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xbn_data::pipeline::{
    EvalTransform, Normalization, Scratch, TrainTransform, Transform, load_image,
};
use xbn_data::{DataError, DatasetIndex};

use super::schedule_seed::{Purpose, derive};
use crate::error::Result;
use xbn_nn::model::InputSpec;

/// How images are turned into network input: one of xbn-data's transforms.
#[derive(Debug, Clone)]
pub struct ImageTransform {
    transform: Arc<dyn Transform>,
    size: usize,
}

impl ImageTransform {
    /// Training: random resized crop (area 0.36–1 of the image, aspect ratio 3/4–4/3; milder
    /// than torchvision's 0.08 lower bound, which destroys small images) and random horizontal
    /// flip.
    pub fn train(spec: &InputSpec) -> Self {
        let size = spec.height as u32;
        let transform = TrainTransform {
            scale: (0.36, 1.0),
            normalization: normalization(spec),
            ..TrainTransform::new(size)
        };
        Self {
            transform: Arc::new(transform),
            size: spec.height,
        }
    }

    /// Evaluation: resize the shorter side to the input size, centre crop.
    pub fn eval(spec: &InputSpec) -> Self {
        let size = spec.height as u32;
        let transform = EvalTransform {
            normalization: normalization(spec),
            ..EvalTransform::new(size, size)
        };
        Self {
            transform: Arc::new(transform),
            size: spec.height,
        }
    }
}

fn normalization(spec: &InputSpec) -> Normalization {
    Normalization {
        mean: spec.mean,
        std: spec.std,
    }
}

/// The batch of items `indices` as a `(N, 3, S, S)` tensor on `device`, using `workers`
/// threads. Item `j` of the batch draws its augmentation from a generator seeded by
/// `(seed, j)` (a fixed seed when `seed` is `None`), so the batch does not depend on the
/// number of workers.
pub fn load_batch(
    index: &DatasetIndex,
    indices: &[usize],
    transform: &ImageTransform,
    seed: Option<u64>,
    workers: usize,
    device: &Device,
) -> Result<Tensor> {
    let n = indices.len();
    let s = transform.size;
    let per = 3 * s * s;
    let mut flat = vec![0f32; n * per];
    let chunk = n.div_ceil(workers.max(1)).max(1);
    let results: Vec<xbn_data::Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = flat
            .chunks_mut(chunk * per)
            .enumerate()
            .map(|(c, out)| {
                scope.spawn(move || -> xbn_data::Result<()> {
                    let mut scratch = Scratch::new();
                    for (j, dst) in out.chunks_mut(per).enumerate() {
                        let pos = c * chunk + j;
                        let img = load_image(&index.items[indices[pos]].source)?;
                        let item_seed = derive(seed.unwrap_or(0), Purpose::Augmentation, pos);
                        let mut rng = ChaCha8Rng::seed_from_u64(item_seed);
                        transform
                            .transform
                            .apply(&img, &mut rng, &mut scratch, dst)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(DataError::Layout("image worker panicked".into())))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(Tensor::from_vec(flat, (n, 3, s, s), device)?)
}
