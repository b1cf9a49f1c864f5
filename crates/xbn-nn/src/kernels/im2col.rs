//! Unfolding channels-last image patches into rows (im2col) and its adjoint (col2im).

use super::conv2d::ConvGeometry;
use super::element::Element;

/// The kernel columns `b` whose input column `s·j + b − p` lies inside `[0, W)`, for output
/// column `j`: `b ∈ [lo, hi)`.
fn kernel_columns(g: &ConvGeometry, j: usize) -> (usize, usize) {
    // s·j + b ≥ p  ⇔  b ≥ p − s·j;  s·j + b − p < W  ⇔  b < W + p − s·j.
    let start = g.stride * j;
    let lo = g.pad.saturating_sub(start).min(g.kw);
    let hi = (g.w + g.pad).saturating_sub(start).min(g.kw);
    (lo, hi.max(lo))
}

/// The input row `s·i + a − p` of kernel row `a` at output row `i`, if inside the image.
#[inline]
fn input_row(g: &ConvGeometry, i: usize, a: usize) -> Option<usize> {
    (g.stride * i + a)
        .checked_sub(g.pad)
        .filter(|&row| row < g.h)
}

/// `X[(i,j), (a,b,c)] = x̃[s·i + a, s·j + b, c]` for one channels-last image `x` `(H, W, C)`,
/// `x̃` zero outside the image: the `(H'·W') × (kh·kw·C)` row-major patch matrix, written
/// entirely into `cols`. For each `(i, j, a)` the in-image columns `b` are one contiguous run
/// of the input row.
pub(crate) fn im2col<T: Element>(g: &ConvGeometry, x: &[T], cols: &mut [T]) {
    let (c, k) = (g.c_in, g.patch_len());
    let run = g.kw * c;
    for i in 0..g.ho {
        for j in 0..g.wo {
            let row = &mut cols[(i * g.wo + j) * k..][..k];
            let (lo, hi) = kernel_columns(g, j);
            for a in 0..g.kh {
                let dst = &mut row[a * run..][..run];
                let Some(h_in) = input_row(g, i, a) else {
                    dst.fill(T::ZERO);
                    continue;
                };
                dst[..lo * c].fill(T::ZERO);
                dst[hi * c..].fill(T::ZERO);
                if hi > lo {
                    let w_in = g.stride * j + lo - g.pad;
                    dst[lo * c..hi * c]
                        .copy_from_slice(&x[(h_in * g.w + w_in) * c..][..(hi - lo) * c]);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `dx[s·i + a − p, s·j + b − p, c] += dX[(i,j), (a,b,c)]` for every
/// position inside the image `dx` `(H, W, C)`.
pub(crate) fn col2im_add<T: Element>(g: &ConvGeometry, cols: &[T], dx: &mut [T]) {
    let (c, k) = (g.c_in, g.patch_len());
    let run = g.kw * c;
    for i in 0..g.ho {
        for j in 0..g.wo {
            let row = &cols[(i * g.wo + j) * k..][..k];
            let (lo, hi) = kernel_columns(g, j);
            if hi == lo {
                continue;
            }
            for a in 0..g.kh {
                let Some(h_in) = input_row(g, i, a) else {
                    continue;
                };
                let w_in = g.stride * j + lo - g.pad;
                let dst = &mut dx[(h_in * g.w + w_in) * c..][..(hi - lo) * c];
                let src = &row[a * run + lo * c..][..(hi - lo) * c];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d += v;
                }
            }
        }
    }
}
