//! The image pipeline: decode ([`load_image`]), augment ([`TrainTransform`]: random-resized-crop,
//! horizontal flip, optional [`ColorJitter`]) or centre-crop ([`EvalTransform`]), normalize
//! ([`Normalization`]) into CHW `f32`, and batch into NCHW tensors ([`batch_tensor`]).
//!
//! ```
//! use rand::SeedableRng;
//! use xbn_data::pipeline::{Scratch, TrainTransform, Transform};
//!
//! let image = image::RgbImage::from_pixel(300, 200, image::Rgb([255, 0, 0]));
//! let transform = TrainTransform::new(64);
//! let mut out = vec![0f32; 3 * 64 * 64];
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! transform.apply(&image, &mut rng, &mut Scratch::new(), &mut out)?;
//! // Red channel: (1 − 0.485) / 0.229 everywhere.
//! assert!((out[0] - (1.0 - 0.485) / 0.229).abs() < 1e-5);
//! # Ok::<(), xbn_data::DataError>(())
//! ```

mod crop;
mod decode;
mod jitter;
mod jpeg;
mod normalize;
mod resize;
mod transform;

pub use crop::{Region, centre_crop, random_resized_crop};
pub use decode::{decode_image, load_image};
pub use jitter::ColorJitter;
pub use jpeg::jpeg_is_complete;
pub use normalize::{Normalization, batch_tensor, write_chw};
pub use resize::Scratch;
pub use transform::{EvalTransform, TrainTransform, Transform};
