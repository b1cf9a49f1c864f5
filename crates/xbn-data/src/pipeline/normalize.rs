//! Packed RGB bytes → normalized CHW `f32`, and batches → NCHW tensors.

use candle_core::{Device, Tensor};

use crate::Result;

/// Per-channel normalization `x_c = (v / 255 − mean_c) / std_c`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Channel means (of `v / 255`).
    pub mean: [f32; 3],
    /// Channel standard deviations.
    pub std: [f32; 3],
}

impl Normalization {
    /// ImageNet statistics, as torchvision's pretrained backbones (ResNet-50, ViT, …) expect.
    pub const IMAGENET: Normalization = Normalization {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };
    /// `v / 255 − ½` over `½`: values in `[−1, 1]` (for small networks trained from scratch).
    pub const HALF: Normalization = Normalization {
        mean: [0.5; 3],
        std: [0.5; 3],
    };

    /// Lookup tables `lut[c][v] = (v / 255 − mean_c) / std_c`.
    pub fn tables(&self) -> [[f32; 256]; 3] {
        let mut t = [[0f32; 256]; 3];
        for (c, table) in t.iter_mut().enumerate() {
            for (v, x) in table.iter_mut().enumerate() {
                *x = (v as f32 / 255.0 - self.mean[c]) / self.std[c];
            }
        }
        t
    }
}

/// Writes packed RGB `pixels` (`width × height`, row-major) as normalized CHW into `out`
/// (`3 · width · height` values), mirrored left–right when `flip`.
pub fn write_chw(
    pixels: &[u8],
    width: usize,
    height: usize,
    flip: bool,
    tables: &[[f32; 256]; 3],
    out: &mut [f32],
) {
    let plane = width * height;
    let (r, rest) = out.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for (y, row) in pixels.chunks_exact(width * 3).take(height).enumerate() {
        let o = y * width;
        for (x, p) in row.chunks_exact(3).enumerate() {
            let dst = if flip { o + width - 1 - x } else { o + x };
            r[dst] = tables[0][p[0] as usize];
            g[dst] = tables[1][p[1] as usize];
            b[dst] = tables[2][p[2] as usize];
        }
    }
}

/// Wraps `n` images of CHW data (`data.len() = n · 3 · height · width`) as an `(n, 3, height,
/// width)` tensor on `device`.
pub fn batch_tensor(
    data: Vec<f32>,
    n: usize,
    height: usize,
    width: usize,
    device: &Device,
) -> Result<Tensor> {
    Ok(Tensor::from_vec(data, (n, 3, height, width), device)?)
}
