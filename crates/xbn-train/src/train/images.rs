//! Turning dataset items into normalized `(N, 3, H, W)` batches: decode (or render), crop,
//! resize, flip, normalize `x = (pixel/255 − mean) / std`.

use candle_core::{Device, Tensor};
use image::{RgbImage, imageops};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xbn_data::{DataError, DatasetIndex, ImageSource};

use super::schedule_seed::{Purpose, derive};
use crate::error::Result;
use crate::model::InputSpec;

/// How images are turned into network input.
#[derive(Debug, Clone, Copy)]
pub struct ImageTransform {
    size: u32,
    mean: [f32; 3],
    std: [f32; 3],
    augment: bool,
}

impl ImageTransform {
    /// Training: random resized crop (scale 0.6–1 of the side) and random horizontal flip.
    pub fn train(spec: &InputSpec) -> Self {
        Self {
            size: spec.height as u32,
            mean: spec.mean,
            std: spec.std,
            augment: true,
        }
    }

    /// Evaluation: resize the shorter side, centre crop.
    pub fn eval(spec: &InputSpec) -> Self {
        Self {
            augment: false,
            ..Self::train(spec)
        }
    }

    /// `3 × size × size` normalized values of one image.
    fn apply(&self, img: &RgbImage, rng: Option<&mut ChaCha8Rng>) -> Vec<f32> {
        let (w, h) = img.dimensions();
        let side = w.min(h).max(1);
        let (crop, x0, y0, flip) = match rng {
            Some(rng) if self.augment => {
                let c = ((side as f32) * rng.random_range(0.6f32..=1.0))
                    .round()
                    .max(1.0) as u32;
                let x0 = rng.random_range(0..=w - c.min(w));
                let y0 = rng.random_range(0..=h - c.min(h));
                (c, x0, y0, rng.random_bool(0.5))
            }
            _ => (side, (w - side) / 2, (h - side) / 2, false),
        };
        let view = imageops::crop_imm(img, x0, y0, crop.min(w), crop.min(h)).to_image();
        let mut out = if view.dimensions() == (self.size, self.size) {
            view
        } else {
            imageops::resize(&view, self.size, self.size, imageops::FilterType::Triangle)
        };
        if flip {
            imageops::flip_horizontal_in_place(&mut out);
        }
        let n = (self.size * self.size) as usize;
        let mut chw = vec![0f32; 3 * n];
        for (i, p) in out.pixels().enumerate() {
            for c in 0..3 {
                chw[c * n + i] = (f32::from(p[c]) / 255.0 - self.mean[c]) / self.std[c];
            }
        }
        chw
    }
}

/// Reads the RGB pixels of an item.
fn read_image(source: &ImageSource) -> xbn_data::Result<RgbImage> {
    match source {
        ImageSource::Provided { provider, index } => provider.image(*index),
        ImageSource::File { path, crop } => {
            let img = image::open(path)
                .map_err(|e| DataError::Decode {
                    path: path.clone(),
                    message: e.to_string(),
                })?
                .to_rgb8();
            Ok(match crop {
                Some(b) => {
                    let (w, h) = img.dimensions();
                    let (x1, y1) = (b.x1.min(w), b.y1.min(h));
                    let (x2, y2) = (
                        b.x2.clamp(x1 + 1, w.max(x1 + 1)),
                        b.y2.clamp(y1 + 1, h.max(y1 + 1)),
                    );
                    imageops::crop_imm(&img, x1, y1, (x2 - x1).min(w - x1), (y2 - y1).min(h - y1))
                        .to_image()
                }
                None => img,
            })
        }
    }
}

/// The batch of items `indices` as a `(N, 3, S, S)` tensor on `device`, using `workers`
/// threads. With `seed`, item `j` of the batch is augmented with a generator seeded by
/// `(seed, j)`, so the batch does not depend on the number of workers.
pub fn load_batch(
    index: &DatasetIndex,
    indices: &[usize],
    transform: &ImageTransform,
    seed: Option<u64>,
    workers: usize,
    device: &Device,
) -> Result<Tensor> {
    let n = indices.len();
    let s = transform.size as usize;
    let per = 3 * s * s;
    let mut flat = vec![0f32; n * per];
    let chunk = n.div_ceil(workers.max(1)).max(1);
    let results: Vec<xbn_data::Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = flat
            .chunks_mut(chunk * per)
            .enumerate()
            .map(|(c, out)| {
                scope.spawn(move || -> xbn_data::Result<()> {
                    for (j, dst) in out.chunks_mut(per).enumerate() {
                        let pos = c * chunk + j;
                        let item = &index.items[indices[pos]];
                        let img = read_image(&item.source)?;
                        let mut rng = seed.map(|sd| {
                            ChaCha8Rng::seed_from_u64(derive(sd, Purpose::Augmentation, pos))
                        });
                        dst.copy_from_slice(&transform.apply(&img, rng.as_mut()));
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
