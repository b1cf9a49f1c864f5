//! 2-D max pooling with its own forward and backward.

use candle_core::WithDType;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::element::{Element, with_element};
use super::max_pool_composed::max_pool2d_composed;
use super::storage::{cpu_tensor, layout_slice, with_slice};

/// Max pooling of a **channels-last** `x` `(N, H, W, C)` over `k×k` windows with stride `s` and
/// padding `p` (padded with −∞, as PyTorch's `nn.MaxPool2d(k, s, p)` on
/// `x.permute(0, 3, 1, 2)`): `y[n,i,j,c] = max_{0≤a,b<k} x̃[n, s·i + a − p, s·j + b − p, c]`,
/// output `(N, H', W', C)` with `H' = ⌊(H + 2p − k)/s⌋ + 1`.
///
/// The gradient of each output flows to the first maximum of its window in row-major order
/// (PyTorch's CPU rule; a NaN counts as the maximum). On the CPU (`f32`, `f64`) this is a custom
/// op that scans each window along the contiguous channels and, in backward, finds the maxima
/// again from the kept input instead of storing indices; other devices use composed candle ops.
pub fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let &[n, h, w, c] = dims.as_slice() else {
        return Err(Error::Msg(format!(
            "max_pool2d: expected a channels-last input (N, H, W, C), got shape {dims:?}"
        )));
    };
    if kernel == 0 || stride == 0 || 2 * padding > kernel {
        return Err(Error::Msg(format!(
            "max_pool2d: kernel {kernel}, stride {stride}, padding {padding} \
             (need kernel ≥ 1, stride ≥ 1, padding ≤ kernel/2)"
        )));
    }
    if h + 2 * padding < kernel || w + 2 * padding < kernel {
        return Err(Error::Msg(format!(
            "max_pool2d: input {dims:?} padded by {padding} is smaller than the kernel {kernel}"
        )));
    }
    if !(x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)) {
        return max_pool2d_composed(x, kernel, stride, padding);
    }
    let window = Window {
        n,
        h,
        w,
        c,
        k: kernel,
        s: stride,
        p: padding,
        ho: (h + 2 * padding - kernel) / stride + 1,
        wo: (w + 2 * padding - kernel) / stride + 1,
    };
    x.contiguous()?.apply_op1(MaxPoolOp { window })
}

#[derive(Debug, Clone, Copy)]
struct Window {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    k: usize,
    s: usize,
    p: usize,
    ho: usize,
    wo: usize,
}

/// Whether `v` replaces the running maximum `best`: strictly greater, or the first NaN (ties keep
/// the first position; a NaN is never replaced).
#[inline]
fn replaces<T: Element>(v: T, best: T) -> bool {
    !best.is_nan() && (v > best || v.is_nan())
}

impl Window {
    /// The pixels `(row, column)` of output `(i, j)`'s window inside the image, row-major.
    #[inline]
    fn pixels(&self, i: usize, j: usize) -> impl Iterator<Item = usize> + '_ {
        let rows = (self.s * i).saturating_sub(self.p)..(self.s * i + self.k - self.p).min(self.h);
        let cols = (self.s * j).saturating_sub(self.p)..(self.s * j + self.k - self.p).min(self.w);
        rows.flat_map(move |r| cols.clone().map(move |col| r * self.w + col))
    }

    fn forward<T: Element>(&self, x: &[T]) -> Vec<T> {
        let (c, image) = (self.c, self.h * self.w * self.c);
        let mut y = vec![T::ZERO; self.n * self.ho * self.wo * c];
        // One task per output row (n, i).
        y.par_chunks_mut((self.wo * c).max(1))
            .enumerate()
            .for_each(|(q, y_row)| {
                let (img, i) = (q / self.ho, q % self.ho);
                let x_n = &x[img * image..][..image];
                for (j, out) in y_row.chunks_exact_mut(c).enumerate() {
                    let mut pixels = self.pixels(i, j);
                    let Some(first) = pixels.next() else { continue };
                    out.copy_from_slice(&x_n[first * c..][..c]);
                    for pixel in pixels {
                        for (o, &v) in out.iter_mut().zip(&x_n[pixel * c..][..c]) {
                            if replaces(v, *o) {
                                *o = v;
                            }
                        }
                    }
                }
            });
        y
    }

    fn backward<T: Element>(&self, x: &[T], dy: &[T]) -> Vec<T> {
        let (c, image, out) = (self.c, self.h * self.w * self.c, self.ho * self.wo * self.c);
        let mut dx = vec![T::ZERO; self.n * image];
        // One task per image: every gradient of an image lands in its own slice.
        dx.par_chunks_mut(image.max(1))
            .zip(x.par_chunks(image.max(1)))
            .zip(dy.par_chunks(out.max(1)))
            .for_each(|((dx_n, x_n), dy_n)| {
                let (mut best, mut at) = (vec![T::ZERO; c], vec![0usize; c]);
                for i in 0..self.ho {
                    for j in 0..self.wo {
                        let mut pixels = self.pixels(i, j);
                        let Some(first) = pixels.next() else { continue };
                        best.copy_from_slice(&x_n[first * c..][..c]);
                        at.fill(first);
                        for pixel in pixels {
                            let values = &x_n[pixel * c..][..c];
                            for ((b, a), &v) in best.iter_mut().zip(at.iter_mut()).zip(values) {
                                if replaces(v, *b) {
                                    *b = v;
                                    *a = pixel;
                                }
                            }
                        }
                        let g = &dy_n[(i * self.wo + j) * c..][..c];
                        for (ch, (&a, &gv)) in at.iter().zip(g).enumerate() {
                            dx_n[a * c + ch] += gv;
                        }
                    }
                }
            });
        dx
    }
}

struct MaxPoolOp {
    window: Window,
}

impl CustomOp1 for MaxPoolOp {
    fn name(&self) -> &'static str {
        "xbn-max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = with_element!(s.dtype(), "max_pool2d", T => Ok(T::to_cpu_storage_owned(
            self.window.forward::<T>(layout_slice(s, l, "max_pool2d")?)
        )))?;
        let w = self.window;
        Ok((out, Shape::from((w.n, w.ho, w.wo, w.c))))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let dy = dy.contiguous()?;
        let op = "max_pool2d backward";
        let dx = with_element!(x.dtype(), op, T => cpu_tensor(
            with_slice::<T, _>(x, op, |xs| {
                with_slice::<T, _>(&dy, op, |dys| self.window.backward(xs, dys))
            })??,
            x.dims(),
        ))?;
        Ok(Some(dx))
    }
}
