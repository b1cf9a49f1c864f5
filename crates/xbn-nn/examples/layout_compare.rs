//! NCHW against channels-last (NHWC) for the convolution forward, the measurement behind the
//! kernels' layout: an NCHW unfold (per image, `X` is `(C·kh·kw) × (H'·W')`, `Y = W · X`) and an
//! NHWC unfold (`X` rows are output positions, each gathered from `kh·kw` contiguous channel
//! runs, `Y = X · Wᵀ`), both written here the same way (one image per task, `gemm`, parallel
//! over images), beside the crate's kernel (`kernels::conv2d`, channels-last with tiles of
//! images). A measurement tool (medians of `reps` runs after one warm-up), not a test:
//!
//! ```text
//! cargo run --release -p xbn-nn --example layout_compare -- [reps]
//! ```

use std::time::Instant;

use candle_core::{Device, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;
use xbn_nn::kernels::{Conv2dParams, conv2d, to_channels_last};

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

/// NCHW forward: `y[n, o, i, j] = Σ_{c,a,b} w[o, (c,a,b)] · x[n, c, s·i+a−p, s·j+b−p]`.
#[allow(clippy::too_many_arguments)]
fn nchw_forward(
    x: &[f32],
    w: &[f32],
    (n, c, h, wd): (usize, usize, usize, usize),
    o: usize,
    k: usize,
    s: usize,
    p: usize,
) -> Vec<f32> {
    let (ho, wo) = ((h + 2 * p - k) / s + 1, (wd + 2 * p - k) / s + 1);
    let (positions, patch) = (ho * wo, k * k * c);
    let mut y = vec![0f32; n * o * positions];
    y.par_chunks_mut(o * positions)
        .zip(x.par_chunks(c * h * wd))
        .for_each_init(
            || vec![0f32; patch * positions],
            |cols, (y_n, x_n)| {
                for ch in 0..c {
                    for a in 0..k {
                        for b in 0..k {
                            let row = &mut cols[((ch * k + a) * k + b) * positions..][..positions];
                            for i in 0..ho {
                                for j in 0..wo {
                                    let (hi, wi) =
                                        ((s * i + a).wrapping_sub(p), (s * j + b).wrapping_sub(p));
                                    row[i * wo + j] = if hi < h && wi < wd {
                                        x_n[(ch * h + hi) * wd + wi]
                                    } else {
                                        0.0
                                    };
                                }
                            }
                        }
                    }
                }
                // SAFETY: dense row-major matrices whose sizes match the slices.
                unsafe {
                    gemm::gemm(
                        o,
                        positions,
                        patch,
                        y_n.as_mut_ptr(),
                        1,
                        positions as isize,
                        false,
                        w.as_ptr(),
                        1,
                        patch as isize,
                        cols.as_ptr(),
                        1,
                        positions as isize,
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
    println!(
        "| input (N, C, H, W) | O, k, s | NCHW ms | NHWC ms | NHWC / NCHW | kernel ms | max |Δ| |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (n, c, h, w, o, k, s, p) in SHAPES {
        let x = Tensor::randn(0f32, 1.0, (n, c, h, w), &Device::Cpu)?;
        let wt = Tensor::randn(0f32, 0.1, (o, c, k, k), &Device::Cpu)?;
        let params = Conv2dParams {
            stride: s,
            padding: p,
        };
        let x_nchw: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let w_nchw: Vec<f32> = wt.flatten_all()?.to_vec1()?;
        let x_last = to_channels_last(&x)?;
        let x_nhwc: Vec<f32> = x_last.flatten_all()?.to_vec1()?;
        // w_t[(a, b, c), o] = W[o, c, a, b].
        let w_t: Vec<f32> = wt.permute((2, 3, 1, 0))?.flatten_all()?.to_vec1()?;
        let (mut t_nchw, mut t_nhwc, mut t_kernel) = (Vec::new(), Vec::new(), Vec::new());
        let (mut y_nchw, mut y_nhwc, mut y_kernel) = (Vec::new(), Vec::new(), None);
        for rep in 0..=reps {
            let t0 = Instant::now();
            let y1 = nchw_forward(&x_nchw, &w_nchw, (n, c, h, w), o, k, s, p);
            let t1 = Instant::now();
            let y2 = nhwc_forward(&x_nhwc, &w_t, (n, c, h, w), o, k, s, p);
            let t2 = Instant::now();
            let y3 = conv2d(&x_last, &wt, params)?;
            let t3 = Instant::now();
            if rep > 0 {
                t_nchw.push((t1 - t0).as_secs_f64() * 1e3);
                t_nhwc.push((t2 - t1).as_secs_f64() * 1e3);
                t_kernel.push((t3 - t2).as_secs_f64() * 1e3);
            }
            (y_nchw, y_nhwc, y_kernel) = (y1, y2, Some(y3));
        }
        // Compare all three in channels-last order.
        let (ho, wo) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
        let nchw_as_last: Vec<f32> = Tensor::from_vec(y_nchw, (n, o, ho, wo), &Device::Cpu)?
            .permute((0, 2, 3, 1))?
            .flatten_all()?
            .to_vec1()?;
        let kernel: Vec<f32> = y_kernel.ok_or("no run")?.flatten_all()?.to_vec1()?;
        let diff = nchw_as_last
            .iter()
            .zip(&y_nhwc)
            .zip(&kernel)
            .fold(0f32, |m, ((a, b), c)| {
                m.max((a - b).abs()).max((a - c).abs())
            });
        let (a, b, kt) = (median(t_nchw), median(t_nhwc), median(t_kernel));
        println!(
            "| {n}, {c}, {h}, {w} | {o}, {k}, {s} | {a:.2} | {b:.2} | {:.2} | {kt:.2} | {diff:.1e} |",
            b / a
        );
    }
    Ok(())
}
