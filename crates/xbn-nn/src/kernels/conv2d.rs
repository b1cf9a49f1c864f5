//! 2-D convolution (groups 1, dilation 1) with its own forward and backward.

use candle_core::WithDType;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::conv2d_unfold::conv2d_unfold;
use super::element::Element;
use super::gemm::{MatRef, matmul};
use super::im2col::{col2im_add, im2col};
use super::parallel::{MAX_REDUCTION_CHUNKS, chunk_len, threads};
use super::shared_mut::SharedMut;
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
        #[cfg(feature = "cudnn")]
        if x.device().is_cuda() {
            return super::conv2d_cudnn::conv2d_cudnn(x, w, geometry);
        }
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
            DType::F32 => f32::to_cpu_storage_owned(forward(
                &g,
                layout_slice(s1, l1, "conv2d")?,
                layout_slice(s2, l2, "conv2d")?,
            )),
            DType::F64 => f64::to_cpu_storage_owned(forward(
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

/// How the batch is cut into tiles of consecutive images whose patch matrices sit side by side
/// in one `(C·kh·kw) × (images·H'·W')` matrix, so that small feature maps still give wide,
/// efficient matrix products. Depends only on the shapes (runs are repeatable).
#[derive(Debug, Clone, Copy)]
struct Tiling {
    /// Images per tile.
    images: usize,
    /// Number of tiles.
    tiles: usize,
}

/// Aim for at least this many columns (output positions) per matrix product.
const TILE_COLUMNS: usize = 1024;

impl Tiling {
    fn new(g: &ConvGeometry) -> Self {
        let images = TILE_COLUMNS
            .div_ceil(g.positions().max(1))
            .clamp(1, g.n.max(1));
        Self {
            images,
            tiles: g.n.div_ceil(images),
        }
    }

    /// The images of tile `t`.
    fn range(&self, g: &ConvGeometry, t: usize) -> std::ops::Range<usize> {
        t * self.images..((t + 1) * self.images).min(g.n)
    }
}

/// Scratch matrices of one worker: patches `X` and, for backward, `∂L/∂X` and the gathered
/// output gradient, each `rows × (images·H'·W')`.
struct Scratch<T> {
    cols: Vec<T>,
    aux: Vec<T>,
    grad: Vec<T>,
}

impl<T: Element> Scratch<T> {
    fn new(g: &ConvGeometry, tiling: Tiling, backward: bool, input_grad: bool) -> Self {
        let width = tiling.images * g.positions();
        let needs_cols = !(g.is_pointwise() && tiling.images == 1);
        Self {
            cols: vec![T::ZERO; if needs_cols { g.patch_len() * width } else { 0 }],
            aux: vec![
                T::ZERO;
                if backward && input_grad && needs_cols {
                    g.patch_len() * width
                } else {
                    0
                }
            ],
            grad: vec![
                T::ZERO;
                if backward && tiling.images > 1 {
                    g.c_out * width
                } else {
                    0
                }
            ],
        }
    }
}

/// Runs `f(local)` for every image of a tile, in parallel when the tile is the only work.
fn for_images(parallel: bool, images: usize, f: impl Fn(usize) + Sync + Send) {
    if parallel && images > 1 {
        (0..images).into_par_iter().for_each(f);
    } else {
        (0..images).for_each(f);
    }
}

/// Unfolds the patches of images `range` side by side (pointwise convolutions copy the images).
fn unfold_tile<T: Element>(
    g: &ConvGeometry,
    x: &[T],
    range: std::ops::Range<usize>,
    cols: &mut [T],
    parallel: bool,
) {
    let p = g.positions();
    let ld = range.len() * p;
    assert!(
        cols.len() >= g.patch_len() * ld,
        "conv2d: patch buffer too small"
    );
    let shared = SharedMut::new(cols);
    for_images(parallel, range.len(), |local| {
        let x_n = &x[(range.start + local) * g.input_len()..][..g.input_len()];
        if g.is_pointwise() {
            for c in 0..g.c_in {
                // SAFETY: image `local` owns columns local·P..(local+1)·P of every row.
                let dst = unsafe { shared.slice(c * ld + local * p, p) };
                dst.copy_from_slice(&x_n[c * p..][..p]);
            }
        } else {
            // SAFETY: as above; the block lies inside `cols` (asserted).
            unsafe { im2col(g, x_n, shared, local * p, ld) };
        }
    });
}

/// Gathers `(images, O, P)` output gradients into an `(O × images·P)` matrix.
fn gather_rows<T: Element>(
    src: &[T],
    dst: &mut [T],
    images: usize,
    rows: usize,
    p: usize,
    parallel: bool,
) {
    let width = images * p;
    let shared = SharedMut::new(dst);
    for_images(parallel, images, |local| {
        for o in 0..rows {
            // SAFETY: image `local` owns columns local·P..(local+1)·P of every row.
            let d = unsafe { shared.slice(o * width + local * p, p) };
            d.copy_from_slice(&src[(local * rows + o) * p..][..p]);
        }
    });
}

/// Scatters an `(O × images·P)` matrix back to `(images, O, P)`.
fn scatter_rows<T: Element>(
    src: &[T],
    dst: &mut [T],
    images: usize,
    rows: usize,
    p: usize,
    parallel: bool,
) {
    let width = images * p;
    let per_image = rows * p;
    let body = |local: usize, d: &mut [T]| {
        for o in 0..rows {
            d[o * p..][..p].copy_from_slice(&src[o * width + local * p..][..p]);
        }
    };
    if parallel {
        dst.par_chunks_mut(per_image)
            .enumerate()
            .for_each(|(l, d)| body(l, d));
    } else {
        dst.chunks_mut(per_image)
            .enumerate()
            .for_each(|(l, d)| body(l, d));
    }
}

/// The patch matrix of a tile: the image itself for a single-image pointwise tile.
fn patches<'a, T: Element>(
    g: &ConvGeometry,
    x: &'a [T],
    range: std::ops::Range<usize>,
    cols: &'a mut [T],
    parallel: bool,
) -> MatRef<'a, T> {
    let width = range.len() * g.positions();
    if g.is_pointwise() && range.len() == 1 {
        MatRef::dense(
            &x[range.start * g.input_len()..][..g.input_len()],
            g.c_in,
            width,
        )
    } else {
        unfold_tile(g, x, range, cols, parallel);
        MatRef::dense(&cols[..g.patch_len() * width], g.patch_len(), width)
    }
}

/// The forward pass on host slices: `Y = W · X` per tile of images.
pub(crate) fn forward<T: Element>(g: &ConvGeometry, x: &[T], w: &[T]) -> Vec<T> {
    let mut y = vec![T::ZERO; g.n * g.output_len()];
    let weight = MatRef::dense(w, g.c_out, g.patch_len());
    let tiling = Tiling::new(g);
    let p = g.positions();
    let parallel_inside = tiling.tiles < threads();
    let run_tile = |scratch: &mut Scratch<T>, t: usize, y_tile: &mut [T]| {
        let range = tiling.range(g, t);
        let images = range.len();
        let cols = patches(g, x, range, &mut scratch.cols, parallel_inside);
        if images == 1 {
            matmul(y_tile, weight, cols, false, parallel_inside);
        } else {
            // (O × images·P) product, then scattered to (images, O, P).
            let width = images * p;
            let mut wide = std::mem::take(&mut scratch.aux);
            wide.resize(g.c_out * width, T::ZERO);
            matmul(&mut wide, weight, cols, false, parallel_inside);
            scatter_rows(&wide, y_tile, images, g.c_out, p, parallel_inside);
            scratch.aux = wide;
        }
    };
    let tile_len = tiling.images * g.output_len();
    if parallel_inside {
        let mut scratch = Scratch::new(g, tiling, false, false);
        for (t, y_tile) in y.chunks_mut(tile_len).enumerate() {
            run_tile(&mut scratch, t, y_tile);
        }
    } else {
        y.par_chunks_mut(tile_len).enumerate().for_each_init(
            || Scratch::new(g, tiling, false, false),
            |scratch, (t, y_tile)| run_tile(scratch, t, y_tile),
        );
    }
    y
}

/// The backward pass on host slices: `(∂L/∂x if wanted, ∂L/∂W)`, per tile of images
/// `∂L/∂W += ∂L/∂Y · Xᵀ` and `∂L/∂X = Wᵀ · ∂L/∂Y` folded back onto the images.
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
    let tiling = Tiling::new(g);
    // Tiles are grouped into at most MAX_REDUCTION_CHUNKS chunks, each with its own weight
    // gradient partial; the partials are added in chunk order.
    let tiles_per_chunk = chunk_len(tiling.tiles, MAX_REDUCTION_CHUNKS);
    let chunks = tiling.tiles.div_ceil(tiles_per_chunk);
    let parallel_inside = chunks < threads();
    let images_per_chunk = tiles_per_chunk * tiling.images;
    let mut dx = if input_grad {
        vec![T::ZERO; g.n * g.input_len()]
    } else {
        Vec::new()
    };
    let run_chunk = |chunk: usize, dx_chunk: &mut [T]| -> Vec<T> {
        let mut dw = vec![T::ZERO; g.c_out * k];
        let mut scratch = Scratch::new(g, tiling, true, input_grad);
        let first_tile = chunk * tiles_per_chunk;
        let last_tile = (first_tile + tiles_per_chunk).min(tiling.tiles);
        for t in first_tile..last_tile {
            let range = tiling.range(g, t);
            let images = range.len();
            let width = images * p;
            // ∂L/∂Y of the tile as an (O × images·P) matrix.
            let dy_tile = &dy[range.start * g.output_len()..][..images * g.output_len()];
            let grad = if images == 1 {
                MatRef::dense(dy_tile, g.c_out, p)
            } else {
                gather_rows(
                    dy_tile,
                    &mut scratch.grad,
                    images,
                    g.c_out,
                    p,
                    parallel_inside,
                );
                MatRef::dense(&scratch.grad[..g.c_out * width], g.c_out, width)
            };
            let cols = patches(g, x, range.clone(), &mut scratch.cols, parallel_inside);
            matmul(&mut dw, grad, cols.t(), t > first_tile, parallel_inside);
            if !input_grad {
                continue;
            }
            let dx_tile = &mut dx_chunk[(range.start - chunk * images_per_chunk) * g.input_len()..]
                [..images * g.input_len()];
            if g.is_pointwise() && images == 1 {
                matmul(dx_tile, weight_t, grad, false, parallel_inside);
                continue;
            }
            let dcols = &mut scratch.aux[..k * width];
            matmul(dcols, weight_t, grad, false, parallel_inside);
            let dcols = &*dcols;
            let fold = |local: usize, dx_n: &mut [T]| {
                if g.is_pointwise() {
                    for c in 0..g.c_in {
                        dx_n[c * p..][..p].copy_from_slice(&dcols[c * width + local * p..][..p]);
                    }
                } else {
                    col2im_add(g, &dcols[local * p..], dx_n, width);
                }
            };
            if parallel_inside {
                dx_tile
                    .par_chunks_mut(g.input_len())
                    .enumerate()
                    .for_each(|(local, dx_n)| fold(local, dx_n));
            } else {
                dx_tile
                    .chunks_mut(g.input_len())
                    .enumerate()
                    .for_each(|(local, dx_n)| fold(local, dx_n));
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
    let mut dw = partials
        .next()
        .unwrap_or_else(|| vec![T::ZERO; g.c_out * k]);
    for part in partials {
        for (acc, v) in dw.iter_mut().zip(part) {
            *acc += v;
        }
    }
    (input_grad.then_some(dx), dw)
}
