//! Unfolding image patches into columns (im2col) and its adjoint (col2im).

use super::conv2d::ConvGeometry;
use super::element::Element;
use super::shared_mut::SharedMut;

/// The output columns `j` whose input column `s·j + b − p` lies inside `[0, W)`.
fn valid_range(g: &ConvGeometry, b: usize) -> (usize, usize) {
    // s·j + b ≥ p  ⇔  j ≥ ⌈(p − b)/s⌉;  s·j + b − p ≤ W − 1  ⇔  j ≤ ⌊(W − 1 + p − b)/s⌋.
    let lo = g.pad.saturating_sub(b).div_ceil(g.stride);
    let hi = if g.w + g.pad > b {
        ((g.w - 1 + g.pad - b) / g.stride + 1).min(g.wo)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// `X[(c,a,b), (i,j)] = x̃[c, s·i + a, s·j + b]` for one image `x` `(C, H, W)`, with `x̃` zero
/// outside the image. Row `r` of this image's `(C·kh·kw) × (H'·W')` block starts at
/// `cols[base + r·ld]` (`ld ≥ H'·W'` lets several images share one wide matrix).
///
/// # Safety
/// No other task may access this image's block while it is written, and the block must lie
/// inside `cols`.
pub(crate) unsafe fn im2col<T: Element>(
    g: &ConvGeometry,
    x: &[T],
    cols: SharedMut<T>,
    base: usize,
    ld: usize,
) {
    let (h, w, s, p) = (g.h, g.w, g.stride, g.pad);
    for c in 0..g.c_in {
        let plane = &x[c * h * w..][..h * w];
        for a in 0..g.kh {
            for b in 0..g.kw {
                let row = ((c * g.kh + a) * g.kw + b) * ld;
                let (lo, hi) = valid_range(g, b);
                for i in 0..g.ho {
                    // SAFETY: this image's block, which the caller gives to this task alone.
                    let dst = unsafe { cols.slice(base + row + i * g.wo, g.wo) };
                    let hi_in = s * i + a;
                    if hi_in < p || hi_in - p >= h {
                        dst.fill(T::ZERO);
                        continue;
                    }
                    let src = &plane[(hi_in - p) * w..][..w];
                    dst[..lo].fill(T::ZERO);
                    dst[hi..].fill(T::ZERO);
                    if s == 1 {
                        let start = lo + b - p;
                        dst[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                    } else {
                        let strided = src[s * lo + b - p..].iter().step_by(s);
                        for (d, v) in dst[lo..hi].iter_mut().zip(strided) {
                            *d = *v;
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `dx[c, s·i + a − p, s·j + b − p] += dX[(c,a,b), (i,j)]` for every
/// position inside the image; row `r` of this image's block starts at `cols[r·ld]`.
pub(crate) fn col2im_add<T: Element>(g: &ConvGeometry, cols: &[T], dx: &mut [T], ld: usize) {
    let (h, w, s, p) = (g.h, g.w, g.stride, g.pad);
    for c in 0..g.c_in {
        let plane = &mut dx[c * h * w..][..h * w];
        for a in 0..g.kh {
            for b in 0..g.kw {
                let row = ((c * g.kh + a) * g.kw + b) * ld;
                let (lo, hi) = valid_range(g, b);
                for i in 0..g.ho {
                    let hi_in = s * i + a;
                    if hi_in < p || hi_in - p >= h {
                        continue;
                    }
                    let src = &cols[row + i * g.wo..][..g.wo];
                    let dst = &mut plane[(hi_in - p) * w..][..w];
                    if s == 1 {
                        let start = lo + b - p;
                        for (d, v) in dst[start..start + (hi - lo)].iter_mut().zip(&src[lo..hi]) {
                            *d += *v;
                        }
                    } else {
                        let strided = dst[s * lo + b - p..].iter_mut().step_by(s);
                        for (d, v) in strided.zip(&src[lo..hi]) {
                            *d += *v;
                        }
                    }
                }
            }
        }
    }
}
