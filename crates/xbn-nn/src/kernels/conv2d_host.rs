//! The channels-last convolution's loops on host slices: tiles of images, im2col and `gemm`.
//!
//! With `x` `(N, H, W, C)` seen as the rows of the patch matrix `X` `(N·H'·W') × (kh·kw·C)` and
//! `W̃` the kernel permuted to `(O, kh, kw, C)`: forward `Y = X · W̃ᵀ` (`Y` is the output
//! `(N, H', W', O)` as it lies in memory), backward `∂L/∂W̃ = ∂L/∂Yᵀ · X` and
//! `∂L/∂X = ∂L/∂Y · W̃`, folded back onto the images.

use rayon::prelude::*;

use super::conv2d::ConvGeometry;
use super::element::Element;
use super::gemm::{MatRef, matmul};
use super::im2col::{col2im_add, im2col};
use super::parallel::{MAX_REDUCTION_CHUNKS, chunk_len, threads};

/// How the batch is cut into tiles of consecutive images, whose patch rows are consecutive rows
/// of `X`, so that small feature maps still give tall, efficient matrix products. Depends only
/// on the shapes (runs are repeatable).
#[derive(Debug, Clone, Copy)]
struct Tiling {
    /// Images per tile.
    images: usize,
    /// Number of tiles.
    tiles: usize,
}

/// Aim for at least this many rows (output positions) per matrix product…
const TILE_ROWS: usize = 1024;
/// …but cut the batch into at least this many tiles when it has that many images: tiles run in
/// parallel, one `gemm` each, which `examples/layout_compare.rs` measured faster than one large
/// product split by `gemm` itself or than 3 tiles on 2 threads (4 beat 1 and 8 on every layer
/// there). A fixed count, not the number of threads, so that the summation order, and hence the
/// result, does not depend on the machine.
const MIN_TILES: usize = 4;

impl Tiling {
    fn new(g: &ConvGeometry) -> Self {
        let images = TILE_ROWS
            .div_ceil(g.positions().max(1))
            .min(g.n.div_ceil(MIN_TILES))
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

/// `W̃[o,a,b,c] = W[o,c,a,b]`: the kernel in the order of a channels-last patch.
fn kernel_channels_last<T: Element>(g: &ConvGeometry, w: &[T]) -> Vec<T> {
    let (c, kk) = (g.c_in, g.kh * g.kw);
    if kk == 1 {
        return w.to_vec();
    }
    let mut out = vec![T::ZERO; w.len()];
    for (src, dst) in w.chunks(c * kk).zip(out.chunks_mut(c * kk)) {
        for ch in 0..c {
            for ab in 0..kk {
                dst[ab * c + ch] = src[ch * kk + ab];
            }
        }
    }
    out
}

/// `W̃ᵀ[(a,b,c), o] = W[o,c,a,b]`: the `(kh·kw·C) × O` row-major right operand of the forward
/// product (`gemm` packs a row-major operand with contiguous reads; a transposed view of `W̃`
/// measured markedly slower on small maps, where the operand is packed once per tile).
fn kernel_patch_major<T: Element>(g: &ConvGeometry, w: &[T]) -> Vec<T> {
    // Per kernel position (a, b), the (C × O) block is the transpose of W[·, ·, a, b]; it is
    // written in 16 × 16 tiles so that reads and writes stay within a few cache lines.
    const TILE: usize = 16;
    let (c, kk, o) = (g.c_in, g.kh * g.kw, g.c_out);
    let mut out = vec![T::ZERO; w.len()];
    out.par_chunks_mut((c * o).max(1))
        .enumerate()
        .for_each(|(ab, block)| {
            for c0 in (0..c).step_by(TILE) {
                for o0 in (0..o).step_by(TILE) {
                    for ch in c0..(c0 + TILE).min(c) {
                        let dst = &mut block[ch * o..][..o];
                        for oo in o0..(o0 + TILE).min(o) {
                            dst[oo] = w[(oo * c + ch) * kk + ab];
                        }
                    }
                }
            }
        });
    out
}

/// `W[o,c,a,b] = W̃[o,a,b,c]`, the inverse of [`kernel_channels_last`].
fn kernel_channels_first<T: Element>(g: &ConvGeometry, w: &[T]) -> Vec<T> {
    let (c, kk) = (g.c_in, g.kh * g.kw);
    if kk == 1 {
        return w.to_vec();
    }
    let mut out = vec![T::ZERO; w.len()];
    for (src, dst) in w.chunks(c * kk).zip(out.chunks_mut(c * kk)) {
        for ab in 0..kk {
            for ch in 0..c {
                dst[ch * kk + ab] = src[ab * c + ch];
            }
        }
    }
    out
}

/// The patch matrix `X` of the images `range`: the input rows themselves for a pointwise
/// convolution, otherwise unfolded into `buffer` (in parallel over images when `parallel`).
fn patches<'a, T: Element>(
    g: &ConvGeometry,
    x: &'a [T],
    range: std::ops::Range<usize>,
    buffer: &'a mut Vec<T>,
    parallel: bool,
) -> MatRef<'a, T> {
    let rows = range.len() * g.positions();
    let images = &x[range.start * g.input_len()..][..range.len() * g.input_len()];
    if g.is_pointwise() {
        return MatRef::dense(images, rows, g.c_in);
    }
    let k = g.patch_len();
    buffer.resize(rows * k, T::ZERO);
    let per_image = g.positions() * k;
    let (block, image) = (per_image.max(1), g.input_len().max(1));
    if parallel {
        buffer[..rows * k]
            .par_chunks_mut(block)
            .zip(images.par_chunks(image))
            .for_each(|(cols, x_n)| im2col(g, x_n, cols));
    } else {
        for (cols, x_n) in buffer[..rows * k]
            .chunks_mut(block)
            .zip(images.chunks(image))
        {
            im2col(g, x_n, cols);
        }
    }
    MatRef::dense(&buffer[..rows * k], rows, k)
}

/// The forward pass: `y` `(N, H', W', O)` from `x` `(N, H, W, C)` and `W` `(O, C, kh, kw)`.
pub(crate) fn forward<T: Element>(g: &ConvGeometry, x: &[T], w: &[T]) -> Vec<T> {
    let mut y = vec![T::ZERO; g.n * g.output_len()];
    let w_t = kernel_patch_major(g, w);
    let weight_t = MatRef::dense(&w_t, g.patch_len(), g.c_out);
    let tiling = Tiling::new(g);
    let parallel_inside = tiling.tiles < threads();
    let run_tile = |buffer: &mut Vec<T>, t: usize, y_tile: &mut [T]| {
        let cols = patches(g, x, tiling.range(g, t), buffer, parallel_inside);
        matmul(y_tile, cols, weight_t, false, parallel_inside);
    };
    let tile_len = (tiling.images * g.output_len()).max(1);
    if parallel_inside {
        let mut buffer = Vec::new();
        for (t, y_tile) in y.chunks_mut(tile_len).enumerate() {
            run_tile(&mut buffer, t, y_tile);
        }
    } else {
        y.par_chunks_mut(tile_len)
            .enumerate()
            .for_each_init(Vec::new, |buffer, (t, y_tile)| run_tile(buffer, t, y_tile));
    }
    y
}

/// The backward pass: `(∂L/∂x if wanted, ∂L/∂W)` from `x`, `W` and `∂L/∂y`, in the layouts of
/// [`forward`].
pub(crate) fn backward<T: Element>(
    g: &ConvGeometry,
    x: &[T],
    w: &[T],
    dy: &[T],
    input_grad: bool,
) -> (Option<Vec<T>>, Vec<T>) {
    let k = g.patch_len();
    let w_cl = kernel_channels_last(g, w);
    let weight = MatRef::dense(&w_cl, g.c_out, k);
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
        let (mut cols_buffer, mut dcols) = (Vec::new(), Vec::new());
        let first_tile = chunk * tiles_per_chunk;
        let last_tile = (first_tile + tiles_per_chunk).min(tiling.tiles);
        for t in first_tile..last_tile {
            let range = tiling.range(g, t);
            let images = range.len();
            let rows = images * g.positions();
            let grad = MatRef::dense(
                &dy[range.start * g.output_len()..][..images * g.output_len()],
                rows,
                g.c_out,
            );
            let cols = patches(g, x, range.clone(), &mut cols_buffer, parallel_inside);
            matmul(&mut dw, grad.t(), cols, t > first_tile, parallel_inside);
            if !input_grad {
                continue;
            }
            let dx_tile = &mut dx_chunk[(range.start - chunk * images_per_chunk) * g.input_len()..]
                [..images * g.input_len()];
            if g.is_pointwise() {
                matmul(dx_tile, grad, weight, false, parallel_inside);
                continue;
            }
            dcols.resize(rows * k, T::ZERO);
            matmul(&mut dcols, grad, weight, false, parallel_inside);
            let (image, block) = (g.input_len().max(1), (g.positions() * k).max(1));
            if parallel_inside {
                dx_tile
                    .par_chunks_mut(image)
                    .zip(dcols.par_chunks(block))
                    .for_each(|(dx_n, d)| col2im_add(g, d, dx_n));
            } else {
                for (dx_n, d) in dx_tile.chunks_mut(image).zip(dcols.chunks(block)) {
                    col2im_add(g, d, dx_n);
                }
            }
        }
        dw
    };
    let partials: Vec<Vec<T>> = if input_grad {
        dx.par_chunks_mut((images_per_chunk * g.input_len()).max(1))
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
    (input_grad.then_some(dx), kernel_channels_first(g, &dw))
}
