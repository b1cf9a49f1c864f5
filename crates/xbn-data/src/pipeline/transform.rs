//! The train and evaluation transforms: image → normalized CHW `f32`.

use image::RgbImage;
use rand::{Rng, RngCore};

use super::crop::{Region, centre_crop, random_resized_crop};
use super::jitter::ColorJitter;
use super::normalize::{Normalization, write_chw};
use super::resize::Scratch;
use crate::Result;

/// An image transform ending in a normalized CHW `f32` tensor of fixed size.
pub trait Transform: Send + Sync + std::fmt::Debug {
    /// Output `(height, width)`.
    fn output_size(&self) -> (usize, usize);
    /// Transforms `image` into `out` (`3 · height · width` values), drawing randomness from `rng`
    /// and reusing `scratch`.
    fn apply(
        &self,
        image: &RgbImage,
        rng: &mut dyn RngCore,
        scratch: &mut Scratch,
        out: &mut [f32],
    ) -> Result<()>;
}

/// Training augmentation, torchvision's `RandomResizedCrop(size, scale, ratio)` →
/// `RandomHorizontalFlip(flip_probability)` → optional `ColorJitter` → `ToTensor` → `Normalize`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTransform {
    /// Output side (224 for ResNet-50).
    pub size: u32,
    /// Range of the crop's area fraction (torchvision: `(0.08, 1.0)`).
    pub scale: (f64, f64),
    /// Range of the crop's aspect ratio (torchvision: `(3/4, 4/3)`).
    pub ratio: (f64, f64),
    /// Probability of a horizontal flip.
    pub flip_probability: f64,
    /// Colour jitter, if any.
    pub jitter: Option<ColorJitter>,
    /// Channel normalization.
    pub normalization: Normalization,
}

impl TrainTransform {
    /// torchvision defaults at output side `size` with ImageNet normalization and no jitter.
    pub fn new(size: u32) -> TrainTransform {
        TrainTransform {
            size,
            scale: (0.08, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            flip_probability: 0.5,
            jitter: None,
            normalization: Normalization::IMAGENET,
        }
    }
}

impl Transform for TrainTransform {
    fn output_size(&self) -> (usize, usize) {
        (self.size as usize, self.size as usize)
    }

    fn apply(
        &self,
        image: &RgbImage,
        rng: &mut dyn RngCore,
        scratch: &mut Scratch,
        out: &mut [f32],
    ) -> Result<()> {
        let region =
            random_resized_crop(image.width(), image.height(), self.scale, self.ratio, rng);
        let flip = self.flip_probability > 0.0 && rng.random_bool(self.flip_probability.min(1.0));
        let steps = Steps {
            region,
            size: self.size,
            flip,
            jitter: self.jitter,
            normalization: &self.normalization,
        };
        steps.run(image, rng, scratch, out)
    }
}

/// Evaluation transform, torchvision's `Resize(resize)` → `CenterCrop(crop)` → `ToTensor` →
/// `Normalize`, done as one resize of the source region that the centre crop keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalTransform {
    /// Shorter side after resizing (256 for ResNet-50).
    pub resize: u32,
    /// Output side (224 for ResNet-50).
    pub crop: u32,
    /// Channel normalization.
    pub normalization: Normalization,
}

impl EvalTransform {
    /// `Resize(resize)`, `CenterCrop(crop)`, ImageNet normalization.
    pub fn new(resize: u32, crop: u32) -> EvalTransform {
        EvalTransform {
            resize,
            crop,
            normalization: Normalization::IMAGENET,
        }
    }
}

impl Transform for EvalTransform {
    fn output_size(&self) -> (usize, usize) {
        (self.crop as usize, self.crop as usize)
    }

    fn apply(
        &self,
        image: &RgbImage,
        rng: &mut dyn RngCore,
        scratch: &mut Scratch,
        out: &mut [f32],
    ) -> Result<()> {
        let steps = Steps {
            region: centre_crop(image.width(), image.height(), self.resize, self.crop),
            size: self.crop,
            flip: false,
            jitter: None,
            normalization: &self.normalization,
        };
        steps.run(image, rng, scratch, out)
    }
}

/// What a transform does to one image, once its random choices are made: resize `region` to
/// `size × size`, jitter, then write normalized CHW values (mirrored when `flip`).
struct Steps<'a> {
    region: Region,
    size: u32,
    flip: bool,
    jitter: Option<ColorJitter>,
    normalization: &'a Normalization,
}

impl Steps<'_> {
    fn run(
        self,
        image: &RgbImage,
        rng: &mut dyn RngCore,
        scratch: &mut Scratch,
        out: &mut [f32],
    ) -> Result<()> {
        let size = self.size as usize;
        let pixels = scratch.resize(image, self.region, self.size, self.size)?;
        if let Some(j) = self.jitter {
            j.apply(pixels, rng);
        }
        let tables = self.normalization.tables();
        write_chw(pixels, size, size, self.flip, &tables, out);
        Ok(())
    }
}
