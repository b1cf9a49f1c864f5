//! Rasterizes a [`View`] into an RGB image.

use image::RgbImage;
use rand::Rng;

use super::layer::PreparedLayer;
use super::recipe::View;

/// Renders `view` at `n × n` pixels. Pixel `(i, j)` samples image point
/// `p = (2(i + ½)/n − 1, 2(j + ½)/n − 1)`; layers are alpha-blended back to front over the
/// background, then lit (see [`Lighting`](super::recipe::Lighting)); `noise_rng` draws the pixel
/// noise.
pub fn render(view: &View, n: u32, noise_rng: &mut impl Rng) -> RgbImage {
    let h = 2.0 / n as f32;
    let layers: Vec<PreparedLayer> = view.layers.iter().map(|l| l.prepare(h)).collect();
    let light = view.lighting;
    let bg = view.background;
    let mut out = vec![0u8; (n * n * 3) as usize];
    for (j, row) in out.chunks_exact_mut(n as usize * 3).enumerate() {
        let y = (j as f32 + 0.5) * h - 1.0;
        for (i, px) in row.chunks_exact_mut(3).enumerate() {
            let x = (i as f32 + 0.5) * h - 1.0;
            let mut c = bg.texture.colour(x * 1.5, y * 1.5, bg.c1, bg.c2);
            for layer in &layers {
                layer.blend(x, y, &mut c);
            }
            let shade = light.gain
                * (1.0 + light.slope * (x * light.direction[0] + y * light.direction[1]));
            for k in 0..3 {
                let noise = if light.noise > 0.0 {
                    noise_rng.random_range(-light.noise..light.noise)
                } else {
                    0.0
                };
                let v = c[k] * shade * light.cast[k] + noise;
                px[k] = (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
            }
        }
    }
    // The buffer has exactly n·n·3 bytes, so this cannot fail.
    RgbImage::from_raw(n, n, out).unwrap_or_else(|| RgbImage::new(n, n))
}
