//! Resampling a checkpoint's grid of position embeddings to another grid (DINOv2's 37 × 37
//! positions of 518 px to the 16 × 16 of 224 px).

use super::super::error::{ModelError, Result};

/// The cubic convolution kernel of Keys (1981) with `a = −0.75`, PyTorch's bicubic:
/// `W(x) = (a+2)|x|³ − (a+3)|x|² + 1` for `|x| ≤ 1`, `a|x|³ − 5a|x|² + 8a|x| − 4a` for
/// `1 < |x| < 2`, else 0.
fn cubic(x: f64) -> f64 {
    const A: f64 = -0.75;
    let x = x.abs();
    if x <= 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    } else {
        0.0
    }
}

/// For each output index, the four source indices (clamped to the border) and their weights:
/// source coordinate `(i + ½)·in/out − ½` (`align_corners = False`).
fn taps(inp: usize, out: usize) -> Vec<([usize; 4], [f64; 4])> {
    let scale = inp as f64 / out as f64;
    (0..out)
        .map(|i| {
            let src = (i as f64 + 0.5) * scale - 0.5;
            let base = src.floor();
            let t = src - base;
            let mut idx = [0usize; 4];
            let mut w = [0f64; 4];
            for k in 0..4 {
                let j = base as i64 - 1 + k as i64;
                idx[k] = j.clamp(0, inp as i64 - 1) as usize;
                w[k] = cubic(t - (k as f64 - 1.0));
            }
            (idx, w)
        })
        .collect()
}

/// Resamples `values`, a `from × from` grid of `dim`-vectors (row-major, `(from², dim)`), to a
/// `to × to` grid by bicubic interpolation, exactly as
/// `torch.nn.functional.interpolate(mode="bicubic", align_corners=False)` on the
/// `(1, dim, from, from)` layout does (what Hugging Face's DINOv2 applies to its position
/// embeddings at another input size). Computed in f64.
pub fn resample_positions(values: &[f32], from: usize, to: usize, dim: usize) -> Result<Vec<f32>> {
    if from == 0 || to == 0 || dim == 0 || values.len() != from * from * dim {
        return Err(ModelError::InvalidConfig(format!(
            "position grid: {} values are not {from} × {from} × {dim} (resampling to {to} × {to})",
            values.len()
        )));
    }
    let t = taps(from, to);
    // Rows first: (to, from, dim), then columns: (to, to, dim).
    let mut rows = vec![0f64; to * from * dim];
    for (i, (idx, w)) in t.iter().enumerate() {
        for x in 0..from {
            for k in 0..4 {
                let src = (idx[k] * from + x) * dim;
                let dst = (i * from + x) * dim;
                for c in 0..dim {
                    rows[dst + c] += w[k] * f64::from(values[src + c]);
                }
            }
        }
    }
    let mut out = vec![0f64; to * to * dim];
    for y in 0..to {
        for (j, (idx, w)) in t.iter().enumerate() {
            for k in 0..4 {
                let src = (y * from + idx[k]) * dim;
                let dst = (y * to + j) * dim;
                for c in 0..dim {
                    out[dst + c] += w[k] * rows[src + c];
                }
            }
        }
    }
    Ok(out.into_iter().map(|v| v as f32).collect())
}
