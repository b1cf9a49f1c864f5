//! Rendering given views again: the images of chosen dataset items, each transformed with the
//! augmentation seed it was drawn with in a batch (`Batch::augmentation_seeds`). The drift
//! diagnostic compares a memory entry with the current embedding of the very view it stored.

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::pipeline::{Scratch, Transform, load_image};
use crate::{DataError, DatasetIndex, Result};

/// The views `(dataset index, augmentation seed)` through `transform`, as `(n, 3, h, w)` `f32`
/// on `device`: pixel for pixel what the loader delivered for the same index and seed.
///
/// Decoding runs on up to `threads` scoped threads, each on a contiguous share of `views`.
pub fn render_views(
    index: &DatasetIndex,
    transform: &dyn Transform,
    views: &[(usize, u64)],
    threads: usize,
    device: &Device,
) -> Result<Tensor> {
    let (h, w) = transform.output_size();
    let chw = 3 * h * w;
    let mut data = vec![0f32; views.len() * chw];
    let per_thread = views.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let jobs: Vec<_> = data
            .chunks_mut(per_thread * chw)
            .zip(views.chunks(per_thread))
            .map(|(out, share)| {
                scope.spawn(move || -> Result<()> {
                    let mut scratch = Scratch::default();
                    for (k, &(i, seed)) in share.iter().enumerate() {
                        let item = index.items.get(i).ok_or_else(|| {
                            DataError::Config(format!(
                                "view of item {i}: out of range ({} items in {})",
                                index.items.len(),
                                index.name
                            ))
                        })?;
                        let image = load_image(&item.source)?;
                        transform.apply(
                            &image,
                            &mut ChaCha8Rng::seed_from_u64(seed),
                            &mut scratch,
                            &mut out[k * chw..(k + 1) * chw],
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        jobs.into_iter().try_for_each(|job| {
            job.join()
                .unwrap_or_else(|_| Err(DataError::Config("a view renderer panicked".into())))
        })
    })?;
    Ok(Tensor::from_vec(data, (views.len(), 3, h, w), &Device::Cpu)?.to_device(device)?)
}
