//! NCHW against channels-last (NHWC) for the convolution forward: the crate's NCHW kernel
//! (`kernels::conv2d`: im2col per image or tile, `Y = W · X`) beside an NHWC unfold written here
//! (`X` rows are output positions, each gathered from `kh·kw` contiguous channel runs, then
//! `Y = X · Wᵀ`), both with `gemm` and parallel over images. A measurement tool (medians of
//! `reps` runs after one warm-up), not a test:
//!
//! ```text
//! cargo run --release -p xbn-nn --example layout_compare -- [reps]
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;
use xbn_nn::kernels::{Conv2dParams, conv2d};

/// `(N, C, H, W, O, k, stride, padding)`.
type Shape = (usize, usize, usize, usize, usize, usize, usize, usize);

/// The small CNN's layers (batch 64, 32 px) and the 3×3 layers of ResNet-50 (batch 16, 224 px).
const SHAPES: [Shape; 8] = [
    (64, 3, 32, 32, 64, 3, 2, 1),
    (64, 64, 16, 16, 128, 3, 2, 1),
    (64, 128, 8, 8, 256, 3, 2, 1),
    (64, 256, 4, 4, 512, 3, 2, 1),
    (16, 64, 56, 56, 64, 3, 1, 1),
    (16, 128, 28, 28, 128, 3, 1, 1),
    (16, 256, 14, 14, 256, 3, 1, 1),
    (16, 512, 7, 7, 512, 3, 1, 1),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// NHWC forward: `y[n, i, j, o] = Σ_{a,b,c} x[n, s·i+a−p, s·j+b−p, c] · w[(a,b,c), o]`.
#[allow(clippy::too_many_arguments)]
fn nhwc_forward(
    x: &[f32],
    w_t: &[f32],
    (n, c, h, w): (usize, usize, usize, usize),
    o: usize,
    k: usize,
    s: usize,
    p: usize,
) -> Vec<f32> {
    let (ho, wo) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
    let (positions, patch) = (ho * wo, k * k * c);
    let mut y = vec![0f32; n * positions * o];
    y.par_chunks_mut(positions * o)
        .zip(x.par_chunks(h * w * c))
        .for_each_init(
            || vec![0f32; positions * patch],
            |cols, (y_n, x_n)| {
                for i in 0..ho {
                    for j in 0..wo {
                        let row = &mut cols[(i * wo + j) * patch..][..patch];
                        for a in 0..k {
                            for b in 0..k {
                                let dst = &mut row[(a * k + b) * c..][..c];
                                let (hi, wi) =
                                    ((s * i + a).wrapping_sub(p), (s * j + b).wrapping_sub(p));
                                if hi < h && wi < w {
                                    dst.copy_from_slice(&x_n[(hi * w + wi) * c..][..c]);
                                } else {
                                    dst.fill(0.0);
                                }
                            }
                        }
                    }
                }
                // SAFETY: dense row-major matrices whose sizes match the slices.
                unsafe {
                    gemm::gemm(
                        positions,
                        o,
                        patch,
                        y_n.as_mut_ptr(),
                        1,
                        o as isize,
                        false,
                        cols.as_ptr(),
                        1,
                        patch as isize,
                        w_t.as_ptr(),
                        1,
                        o as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            },
        );
    y
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: first statement of main, no other thread exists.
    unsafe { xbn_nn::runtime::prefer_rayon_for_cpu_work() };
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    println!("| input (N, C, H, W) | O, k, s | NCHW ms | NHWC ms | NHWC / NCHW | max |Δ| |");
    println!("|---|---|---:|---:|---:|---:|");
    for (n, c, h, w, o, k, s, p) in SHAPES {
        let x = Tensor::randn(0f32, 1.0, (n, c, h, w), &Device::Cpu)?;
        let wt = Tensor::randn(0f32, 0.1, (o, c, k, k), &Device::Cpu)?;
        let params = Conv2dParams {
            stride: s,
            padding: p,
        };
        let x_nhwc: Vec<f32> = x.permute((0, 2, 3, 1))?.flatten_all()?.to_vec1()?;
        // w_t[(a, b, c), o] = W[o, c, a, b].
        let w_t: Vec<f32> = wt.permute((2, 3, 1, 0))?.flatten_all()?.to_vec1()?;
        let (mut t_nchw, mut t_nhwc) = (Vec::new(), Vec::new());
        let (mut y_nchw, mut y_nhwc) = (None, Vec::new());
        for rep in 0..=reps {
            let t0 = Instant::now();
            let y = conv2d(&x, &wt, params)?;
            let t1 = Instant::now();
            let y2 = nhwc_forward(&x_nhwc, &w_t, (n, c, h, w), o, k, s, p);
            let t2 = Instant::now();
            if rep > 0 {
                t_nchw.push((t1 - t0).as_secs_f64() * 1e3);
                t_nhwc.push((t2 - t1).as_secs_f64() * 1e3);
            }
            y_nchw = Some(y);
            y_nhwc = y2;
        }
        let reference: Vec<f32> = y_nchw
            .ok_or("no run")?
            .permute((0, 2, 3, 1))?
            .flatten_all()?
            .to_vec1()?;
        let diff = reference
            .iter()
            .zip(&y_nhwc)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        let (a, b) = (median(t_nchw), median(t_nhwc));
        println!(
            "| {n}, {c}, {h}, {w} | {o}, {k}, {s} | {a:.2} | {b:.2} | {:.2} | {diff:.1e} |",
            b / a
        );
    }
    Ok(())
}
