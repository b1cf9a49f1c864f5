//! 2-D convolution (groups 1, dilation 1) with its own forward and backward.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::conv2d_unfold::conv2d_unfold;
use super::element::Element;
use super::gemm::{MatRef, matmul};
use super::im2col::{col2im_add, im2col};
use super::parallel::{MAX_REDUCTION_CHUNKS, chunk_len, threads};
use super::storage::{cpu_tensor, layout_slice, with_slice};

/// Stride and zero padding of a convolution, the same along height and width (PyTorch's
/// `nn.Conv2d(stride=s, padding=p)` with integer arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Step between output positions, `s ≥ 1`.
    pub stride: usize,
    /// Zeros added on every side, `p ≥ 0`.
    pub padding: usize,
}

/// The sizes of one convolution: input `(N, C, H, W)`, kernel `(O, C, kh, kw)`, output
/// `(N, O, H', W')` with `H' = ⌊(H + 2p − kh)/s⌋ + 1`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvGeometry {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub ho: usize,
    pub wo: usize,
}

impl ConvGeometry {
    pub(crate) fn new(x: &[usize], k: &[usize], p: Conv2dParams) -> Result<Self> {
        let bad = |why: &str| {
            Error::Msg(format!(
                "conv2d: input {x:?}, kernel {k:?}, stride {}, padding {}: {why}",
                p.stride, p.padding
            ))
        };
        let (&[n, c_in, h, w], &[c_out, kc, kh, kw]) = (x, k) else {
            return Err(bad("expected input (N, C, H, W) and kernel (O, C, kh, kw)"));
        };
        if kc != c_in {
            return Err(bad("input channels differ from the kernel's"));
        }
        if p.stride == 0 || kh == 0 || kw == 0 {
            return Err(bad("stride and kernel size must be positive"));
        }
        if h + 2 * p.padding < kh || w + 2 * p.padding < kw {
            return Err(bad("the padded input is smaller than the kernel"));
        }
        Ok(Self {
            n,
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride: p.stride,
            pad: p.padding,
            ho: (h + 2 * p.padding - kh) / p.stride + 1,
            wo: (w + 2 * p.padding - kw) / p.stride + 1,
        })
    }

    /// Rows of the unfolded patch matrix: `C·kh·kw`.
    pub(crate) fn patch_len(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Output positions per image: `H'·W'`.
    pub(crate) fn positions(&self) -> usize {
        self.ho * self.wo
    }

    fn input_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    fn output_len(&self) -> usize {
        self.c_out * self.positions()
    }

    /// A 1×1, stride-1, unpadded convolution reads the image itself as its patch matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad == 0
    }
}

/// `y[n,o,i,j] = Σ_{c,a,b} W[o,c,a,b] · x̃[n,c, s·i + a, s·j + b]`, `x̃` the input zero-padded by
/// `p`, for `x` `(N, C, H, W)` and `W` `(O, C, kh, kw)` (PyTorch's `F.conv2d` without bias).
///
/// On the CPU (`f32`, `f64`) this is a custom op: per image, the patches are unfolded into a
/// `(C·kh·kw) × (H'·W')` matrix and multiplied by `W` as `(O × C·kh·kw)` with `gemm`, images in
/// parallel. Its backward keeps only `x` and `W` and, per image, re-unfolds the patches `X`:
///
/// - `∂L/∂W = Σ_n ∂L/∂y_n · X_nᵀ` (summed over fixed batch chunks in order: repeatable),
/// - `∂L/∂x_n = fold(Wᵀ · ∂L/∂y_n)`, the adjoint of the unfolding.
///
/// On other devices it is [`conv2d_unfold`], a composition of differentiable candle ops.
pub fn conv2d(x: &Tensor, w: &Tensor, params: Conv2dParams) -> Result<Tensor> {
    let geometry = ConvGeometry::new(x.dims(), w.dims(), params)?;
    let cpu_kernel = x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64);
    if !cpu_kernel {
        return conv2d_unfold(x, w, params);
    }
    if x.dtype() != w.dtype() {
        return Err(Error::Msg(format!(
            "conv2d: input is {:?} but the kernel is {:?}",
            x.dtype(),
            w.dtype()
        )));
    }
    let op = Conv2dOp {
        geometry,
        input_grad: x.track_op(),
    };
    x.contiguous()?.apply_op2(&w.contiguous()?, op)
}

struct Conv2dOp {
    geometry: ConvGeometry,
    /// Whether `x` needs a gradient (the images of the first layer do not).
    input_grad: bool,
}

impl CustomOp2 for Conv2dOp {
    fn name(&self) -> &'static str {
        "xbn-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.geometry;
        let out = match s1.dtype() {
            DType::F32 => f32::into_storage(forward(
                &g,
                layout_slice(s1, l1, "conv2d")?,
                layout_slice(s2, l2, "conv2d")?,
            )),
            DType::F64 => f64::into_storage(forward(
                &g,
                layout_slice(s1, l1, "conv2d")?,
                layout_slice(s2, l2, "conv2d")?,
            )),
            other => return Err(Error::Msg(format!("conv2d: unsupported dtype {other:?}"))),
        };
        Ok((out, Shape::from((g.n, g.c_out, g.ho, g.wo))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let (dx, dw) = match x.dtype() {
            DType::F32 => backward_tensors::<f32>(&self.geometry, x, w, &dy, self.input_grad)?,
            DType::F64 => backward_tensors::<f64>(&self.geometry, x, w, &dy, self.input_grad)?,
            other => return Err(Error::Msg(format!("conv2d: unsupported dtype {other:?}"))),
        };
        Ok((dx, Some(dw)))
    }
}

fn backward_tensors<T: Element>(
    g: &ConvGeometry,
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    input_grad: bool,
) -> Result<(Option<Tensor>, Tensor)> {
    let (dx, dw) = with_slice::<T, _>(x, "conv2d backward", |xs| {
        with_slice::<T, _>(w, "conv2d backward", |ws| {
            with_slice::<T, _>(dy, "conv2d backward", |dys| {
                backward(g, xs, ws, dys, input_grad)
            })
        })
    })???;
    let dx = match dx {
        Some(dx) => Some(cpu_tensor(dx, &[g.n, g.c_in, g.h, g.w])?),
        None => None,
    };
    Ok((dx, cpu_tensor(dw, &[g.c_out, g.c_in, g.kh, g.kw])?))
}

/// The forward pass on host slices: `y_n = W · X_n` per image.
pub(crate) fn forward<T: Element>(g: &ConvGeometry, x: &[T], w: &[T]) -> Vec<T> {
    let mut y = vec![T::ZERO; g.n * g.output_len()];
    let weight = MatRef::dense(w, g.c_out, g.patch_len());
    let per_image = |y_n: &mut [T], x_n: &[T], cols: &mut Vec<T>, parallel: bool| {
        if g.is_pointwise() {
            matmul(y_n, weight, MatRef::dense(x_n, g.c_in, g.positions()), false, parallel);
        } else {
            im2col(g, x_n, cols);
            matmul(y_n, weight, MatRef::dense(cols, g.patch_len(), g.positions()), false, parallel);
        }
    };
    let cols_len = if g.is_pointwise() { 0 } else { g.patch_len() * g.positions() };
    if g.n >= threads() {
        y.par_chunks_mut(g.output_len())
            .zip(x.par_chunks(g.input_len()))
            .for_each_init(
                || vec![T::ZERO; cols_len],
                |cols, (y_n, x_n)| per_image(y_n, x_n, cols, false),
            );
    } else {
        let mut cols = vec![T::ZERO; cols_len];
        for (y_n, x_n) in y.chunks_mut(g.output_len()).zip(x.chunks(g.input_len())) {
            per_image(y_n, x_n, &mut cols, true);
        }
    }
    y
}

/// The backward pass on host slices: `(∂L/∂x if wanted, ∂L/∂W)`.
pub(crate) fn backward<T: Element>(
    g: &ConvGeometry,
    x: &[T],
    w: &[T],
    dy: &[T],
    input_grad: bool,
) -> (Option<Vec<T>>, Vec<T>) {
    let k = g.patch_len();
    let p = g.positions();
    let weight_t = MatRef::dense(w, g.c_out, k).t();
    let images_per_chunk = chunk_len(g.n, MAX_REDUCTION_CHUNKS);
    let chunks = g.n.div_ceil(images_per_chunk);
    let parallel_inside = chunks < threads();
    let mut dx = if input_grad {
        vec![T::ZERO; g.n * g.input_len()]
    } else {
        Vec::new()
    };
    let cols_len = if g.is_pointwise() { 0 } else { k * p };
    // One task per chunk of images: its own weight-gradient partial and scratch buffers.
    let run_chunk = |chunk: usize, dx_chunk: &mut [T]| -> Vec<T> {
        let mut dw = vec![T::ZERO; g.c_out * k];
        let mut cols = vec![T::ZERO; cols_len];
        let mut dcols = if input_grad { vec![T::ZERO; cols_len] } else { Vec::new() };
        let first = chunk * images_per_chunk;
        let last = (first + images_per_chunk).min(g.n);
        for (local, img) in (first..last).enumerate() {
            let x_n = &x[img * g.input_len()..][..g.input_len()];
            let dy_n = MatRef::dense(&dy[img * g.output_len()..][..g.output_len()], g.c_out, p);
            let patches = if g.is_pointwise() {
                MatRef::dense(x_n, g.c_in, p)
            } else {
                im2col(g, x_n, &mut cols);
                MatRef::dense(&cols, k, p)
            };
            matmul(&mut dw, dy_n, patches.t(), local > 0, parallel_inside);
            if input_grad {
                let dx_n = &mut dx_chunk[local * g.input_len()..][..g.input_len()];
                if g.is_pointwise() {
                    matmul(dx_n, weight_t, dy_n, false, parallel_inside);
                } else {
                    matmul(&mut dcols, weight_t, dy_n, false, parallel_inside);
                    col2im_add(g, &dcols, dx_n);
                }
            }
        }
        dw
    };
    let partials: Vec<Vec<T>> = if input_grad {
        dx.par_chunks_mut(images_per_chunk * g.input_len())
            .enumerate()
            .map(|(chunk, dx_chunk)| run_chunk(chunk, dx_chunk))
            .collect()
    } else {
        (0..chunks)
            .into_par_iter()
            .map(|chunk| run_chunk(chunk, &mut []))
            .collect()
    };
    let mut partials = partials.into_iter();
    let mut dw = partials.next().unwrap_or_else(|| vec![T::ZERO; g.c_out * k]);
    for part in partials {
        for (acc, v) in dw.iter_mut().zip(part) {
            *acc += v;
        }
    }
    (input_grad.then_some(dx), dw)
}
