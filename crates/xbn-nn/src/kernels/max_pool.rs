//! 2-D max pooling with its own forward and backward.

use candle_core::WithDType;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::element::Element;
use super::max_pool_composed::max_pool2d_composed;
use super::storage::{cpu_tensor, layout_slice, with_slice};

/// Max pooling of `x` `(N, C, H, W)` over `k×k` windows with stride `s` and padding `p` (padded
/// with −∞, as PyTorch's `nn.MaxPool2d(k, s, p)`):
/// `y[n,c,i,j] = max_{0≤a,b<k} x̃[n,c, s·i + a − p, s·j + b − p]`, output size
/// `⌊(H + 2p − k)/s⌋ + 1`.
///
/// The gradient of each output flows to the first maximum of its window in row-major order
/// (PyTorch's CPU rule; a NaN counts as the maximum). On the CPU (`f32`, `f64`) this is a custom
/// op that scans each window directly and, in backward, finds the maxima again from the kept
/// input instead of storing indices; other devices use composed candle ops.
pub fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let &[n, c, h, w] = dims.as_slice() else {
        return Err(Error::Msg(format!(
            "max_pool2d: expected input (N, C, H, W), got shape {dims:?}"
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
        planes: n * c,
        h,
        w,
        k: kernel,
        s: stride,
        p: padding,
        ho: (h + 2 * padding - kernel) / stride + 1,
        wo: (w + 2 * padding - kernel) / stride + 1,
    };
    let op = MaxPoolOp {
        window,
        shape: (n, c),
    };
    x.contiguous()?.apply_op1(op)
}

#[derive(Debug, Clone, Copy)]
struct Window {
    planes: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    p: usize,
    ho: usize,
    wo: usize,
}

impl Window {
    /// The flat index (within a plane) of the first maximum of output `(i, j)`'s window.
    #[inline]
    fn argmax<T: Element>(&self, plane: &[T], i: usize, j: usize) -> usize {
        let rows = (self.s * i).saturating_sub(self.p)..(self.s * i + self.k - self.p).min(self.h);
        let cols = (self.s * j).saturating_sub(self.p)..(self.s * j + self.k - self.p).min(self.w);
        let mut best = rows.start * self.w + cols.start;
        let mut best_value = T::NEG_INFINITY;
        let mut found = false;
        for r in rows {
            for col in cols.clone() {
                let v = plane[r * self.w + col];
                if !found || v > best_value || v.is_nan() {
                    best = r * self.w + col;
                    best_value = v;
                    found = true;
                    if v.is_nan() {
                        return best;
                    }
                }
            }
        }
        best
    }

    fn forward<T: Element>(&self, x: &[T]) -> Vec<T> {
        let (hw, out) = (self.h * self.w, self.ho * self.wo);
        let mut y = vec![T::ZERO; self.planes * out];
        y.par_chunks_mut(out)
            .zip(x.par_chunks(hw))
            .for_each(|(y_p, x_p)| {
                for i in 0..self.ho {
                    for j in 0..self.wo {
                        y_p[i * self.wo + j] = x_p[self.argmax(x_p, i, j)];
                    }
                }
            });
        y
    }

    fn backward<T: Element>(&self, x: &[T], dy: &[T]) -> Vec<T> {
        let (hw, out) = (self.h * self.w, self.ho * self.wo);
        let mut dx = vec![T::ZERO; self.planes * hw];
        dx.par_chunks_mut(hw)
            .zip(x.par_chunks(hw))
            .zip(dy.par_chunks(out))
            .for_each(|((dx_p, x_p), dy_p)| {
                for i in 0..self.ho {
                    for j in 0..self.wo {
                        dx_p[self.argmax(x_p, i, j)] += dy_p[i * self.wo + j];
                    }
                }
            });
        dx
    }
}

struct MaxPoolOp {
    window: Window,
    /// `(N, C)`.
    shape: (usize, usize),
}

impl CustomOp1 for MaxPoolOp {
    fn name(&self) -> &'static str {
        "xbn-max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = match s.dtype() {
            DType::F32 => {
                f32::to_cpu_storage_owned(self.window.forward(layout_slice(s, l, "max_pool2d")?))
            }
            DType::F64 => {
                f64::to_cpu_storage_owned(self.window.forward(layout_slice(s, l, "max_pool2d")?))
            }
            other => {
                return Err(Error::Msg(format!(
                    "max_pool2d: unsupported dtype {other:?}"
                )));
            }
        };
        let (n, c) = self.shape;
        Ok((out, Shape::from((n, c, self.window.ho, self.window.wo))))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let dy = dy.contiguous()?;
        let op = "max_pool2d backward";
        let dx = match x.dtype() {
            DType::F32 => cpu_tensor(
                with_slice::<f32, _>(x, op, |xs| {
                    with_slice::<f32, _>(&dy, op, |dys| self.window.backward(xs, dys))
                })??,
                x.dims(),
            )?,
            DType::F64 => cpu_tensor(
                with_slice::<f64, _>(x, op, |xs| {
                    with_slice::<f64, _>(&dy, op, |dys| self.window.backward(xs, dys))
                })??,
                x.dims(),
            )?,
            other => {
                return Err(Error::Msg(format!(
                    "max_pool2d: unsupported dtype {other:?}"
                )));
            }
        };
        Ok(Some(dx))
    }
}
