//! The image transforms of training and evaluation, from xbn-data's pipeline
//! (`xbn_data::pipeline`): `TrainTransform` (random resized crop, flip) or `EvalTransform`
//! (resize, centre crop), then normalization `x = (pixel/255 − mean) / std` with the backbone's
//! mean and std. `xbn_data::Loader` applies them (see `train/data.rs`).

use std::sync::Arc;

use xbn_data::pipeline::{EvalTransform, Normalization, TrainTransform, Transform};
use xbn_nn::model::ImageSpec;

/// How images are turned into network input: one of xbn-data's transforms.
#[derive(Debug, Clone)]
pub struct ImageTransform {
    transform: Arc<dyn Transform>,
}

impl ImageTransform {
    /// Training: random resized crop (area fraction `crop_scale` of the image, `data.crop_scale`;
    /// aspect ratio 3/4–4/3) and random horizontal flip.
    pub fn train(spec: &ImageSpec, crop_scale: [f64; 2]) -> Self {
        let size = spec.height as u32;
        let transform = TrainTransform {
            scale: (crop_scale[0], crop_scale[1]),
            normalization: normalization(spec),
            ..TrainTransform::new(size)
        };
        Self {
            transform: Arc::new(transform),
        }
    }

    /// Evaluation: resize the shorter side to `resize` (0: the input size), centre crop to
    /// the input size.
    pub fn eval(spec: &ImageSpec, resize: usize) -> Self {
        let size = spec.height as u32;
        let resize = if resize == 0 { size } else { resize as u32 };
        let transform = EvalTransform {
            normalization: normalization(spec),
            ..EvalTransform::new(resize, size)
        };
        Self {
            transform: Arc::new(transform),
        }
    }
}

impl ImageTransform {
    /// The transform, for a loader.
    pub fn transform(&self) -> Arc<dyn Transform> {
        self.transform.clone()
    }
}

fn normalization(spec: &ImageSpec) -> Normalization {
    Normalization {
        mean: spec.mean,
        std: spec.std,
    }
}
