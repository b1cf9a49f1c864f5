//! Optional colour jitter (brightness, contrast, saturation), on packed RGB bytes.

use rand::{Rng, RngCore};

/// torchvision-style `ColorJitter(brightness, contrast, saturation)` without hue, applied in this
/// fixed order with factors `f ~ U(max(0, 1 − a), 1 + a)`:
/// brightness `v ← f v`; contrast `v ← m + f (v − m)` with `m` the mean grey level
/// (`0.299 R + 0.587 G + 0.114 B`) of the image; saturation `v ← g + f (v − g)` with `g` the
/// pixel's grey level; every step clamped to `[0, 255]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorJitter {
    /// Brightness strength `a_b`.
    pub brightness: f32,
    /// Contrast strength `a_c`.
    pub contrast: f32,
    /// Saturation strength `a_s`.
    pub saturation: f32,
}

fn factor(rng: &mut dyn RngCore, a: f32) -> f32 {
    if a > 0.0 {
        rng.random_range((1.0 - a).max(0.0)..=(1.0 + a))
    } else {
        1.0
    }
}

fn grey(p: &[u8]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

impl ColorJitter {
    /// Jitters the packed RGB bytes `pixels` in place.
    pub fn apply(&self, pixels: &mut [u8], rng: &mut dyn RngCore) {
        let fb = factor(rng, self.brightness);
        let fc = factor(rng, self.contrast);
        let fs = factor(rng, self.saturation);
        let clamp = |v: f32| v.clamp(0.0, 255.0);
        let n = (pixels.len() / 3).max(1) as f32;
        let mean = pixels
            .chunks_exact(3)
            .map(|p| clamp(fb * grey(p)))
            .sum::<f32>()
            / n;
        for p in pixels.chunks_exact_mut(3) {
            let mut v = [0f32; 3];
            for k in 0..3 {
                let b = clamp(fb * p[k] as f32);
                v[k] = clamp(mean + fc * (b - mean));
            }
            let g = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
            for k in 0..3 {
                p[k] = (clamp(g + fs * (v[k] - g)) + 0.5) as u8;
            }
        }
    }
}
