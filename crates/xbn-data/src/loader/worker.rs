//! What a worker thread does with one batch of indices.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::pipeline::{Scratch, Transform, load_image};
use crate::synthetic::mix;
use crate::{DataError, DatasetIndex, Result};

/// A batch as built by a worker (CPU data, not yet a tensor).
#[derive(Debug)]
pub(crate) struct RawBatch {
    /// CHW images, back to back.
    pub data: Vec<f32>,
    /// Dataset indices of the images in `data`.
    pub indices: Vec<usize>,
    /// Labels of the images in `data`.
    pub labels: Vec<u32>,
    /// `(index, error)` of the images skipped as corrupt.
    pub skipped: Vec<(usize, DataError)>,
}

/// The jobs a worker needs to build batches.
#[derive(Debug)]
pub(crate) struct Job {
    pub index: Arc<DatasetIndex>,
    pub transform: Arc<dyn Transform>,
    pub seed: u64,
    pub skip_corrupt: bool,
}

impl Job {
    /// Builds batch number `number` from dataset `indices`, with the RNG of `(seed, number)`.
    pub fn build(
        &self,
        number: usize,
        indices: &[usize],
        scratch: &mut Scratch,
    ) -> Result<RawBatch> {
        let (h, w) = self.transform.output_size();
        let chw = 3 * h * w;
        let mut rng = ChaCha8Rng::seed_from_u64(mix(mix(self.seed) ^ number as u64));
        let mut batch = RawBatch {
            data: vec![0f32; indices.len() * chw],
            indices: Vec::with_capacity(indices.len()),
            labels: Vec::with_capacity(indices.len()),
            skipped: Vec::new(),
        };
        for &i in indices {
            let item = self.index.items.get(i).ok_or_else(|| {
                DataError::Config(format!(
                    "batch {number}: index {i} out of range ({} items in {})",
                    self.index.items.len(),
                    self.index.name
                ))
            })?;
            let image = match load_image(&item.source) {
                Ok(image) => image,
                Err(e @ DataError::Decode { .. }) if self.skip_corrupt => {
                    batch.skipped.push((i, e));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let k = batch.indices.len();
            self.transform.apply(
                &image,
                &mut rng,
                scratch,
                &mut batch.data[k * chw..(k + 1) * chw],
            )?;
            batch.indices.push(i);
            batch.labels.push(item.label);
        }
        batch.data.truncate(batch.indices.len() * chw);
        Ok(batch)
    }
}
