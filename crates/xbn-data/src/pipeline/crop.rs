//! Where to crop: torchvision's `RandomResizedCrop` parameters and the evaluation centre crop.

use rand::{Rng, RngCore};

/// A source rectangle (pixels, possibly fractional) to be resized to the output size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// torchvision's `RandomResizedCrop.get_params`: up to 10 tries of area fraction
/// `s ~ U(scale)` and aspect `r = exp(U(ln ratio))`, `w = round(√(s·A·r))`, `h = round(√(s·A/r))`,
/// accepted when it fits, at a uniform integer position; else the whole image centre-cropped to
/// the nearest aspect within `ratio`.
pub fn random_resized_crop(
    width: u32,
    height: u32,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut dyn RngCore,
) -> Region {
    let (wf, hf) = (width as f64, height as f64);
    let area = wf * hf;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * uniform(rng, scale.0, scale.1);
        let aspect = uniform(rng, lr0, lr1).exp();
        let w = (target * aspect).sqrt().round();
        let h = (target / aspect).sqrt().round();
        if w > 0.0 && h > 0.0 && w <= wf && h <= hf {
            let top = rng.random_range(0..=(height - h as u32)) as f64;
            let left = rng.random_range(0..=(width - w as u32)) as f64;
            return Region {
                left,
                top,
                width: w,
                height: h,
            };
        }
    }
    let in_ratio = wf / hf;
    let (w, h) = if in_ratio < ratio.0 {
        (wf, (wf / ratio.0).round())
    } else if in_ratio > ratio.1 {
        ((hf * ratio.1).round(), hf)
    } else {
        (wf, hf)
    };
    Region {
        left: ((wf - w) / 2.0).round(),
        top: ((hf - h) / 2.0).round(),
        width: w,
        height: h,
    }
}

fn uniform(rng: &mut dyn RngCore, a: f64, b: f64) -> f64 {
    if b > a { rng.random_range(a..b) } else { a }
}

/// `Resize(resize)` (shorter side to `resize`) then `CenterCrop(crop)`, as one source region:
/// with `f = resize / min(W, H)`, the `crop × crop` centre of the resized image is the source
/// square of side `crop / f` centred in the image.
pub fn centre_crop(width: u32, height: u32, resize: u32, crop: u32) -> Region {
    let f = resize as f64 / width.min(height) as f64;
    let side_w = (crop as f64 / f).min(width as f64);
    let side_h = (crop as f64 / f).min(height as f64);
    Region {
        left: (width as f64 - side_w) / 2.0,
        top: (height as f64 - side_h) / 2.0,
        width: side_w,
        height: side_h,
    }
}
