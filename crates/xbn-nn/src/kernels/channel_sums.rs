//! Per-channel sums over the rows of a channels-last tensor `(M, C)`, `M = N·H·W`, in `f64`.
//!
//! Rows are split into at most [`MAX_REDUCTION_CHUNKS`] fixed chunks summed in parallel; each
//! chunk adds its rows in order into one accumulator per channel (the inner loop runs along the
//! contiguous channels, so it vectorizes), and the chunks' partials are added in chunk order:
//! the result does not depend on the number of threads.

use rayon::prelude::*;

use super::element::Element;
use super::parallel::{MAX_REDUCTION_CHUNKS, chunk_len};

/// Two sums per channel.
pub(crate) struct ChannelSums {
    pub first: Vec<f64>,
    pub second: Vec<f64>,
}

impl ChannelSums {
    fn zeros(c: usize) -> Self {
        Self {
            first: vec![0.0; c],
            second: vec![0.0; c],
        }
    }

    fn add(mut self, other: &Self) -> Self {
        for (a, b) in self.first.iter_mut().zip(&other.first) {
            *a += b;
        }
        for (a, b) in self.second.iter_mut().zip(&other.second) {
            *a += b;
        }
        self
    }
}

/// Sums `row_sums(chunk rows…, accumulators)` over fixed chunks of `m` rows.
fn reduce_rows(
    m: usize,
    c: usize,
    per_chunk: impl Fn(std::ops::Range<usize>, &mut ChannelSums) + Sync,
) -> ChannelSums {
    let rows = chunk_len(m, MAX_REDUCTION_CHUNKS);
    let partials: Vec<ChannelSums> = (0..m.div_ceil(rows))
        .into_par_iter()
        .map(|chunk| {
            let mut sums = ChannelSums::zeros(c);
            per_chunk(chunk * rows..((chunk + 1) * rows).min(m), &mut sums);
            sums
        })
        .collect();
    partials
        .iter()
        .fold(ChannelSums::zeros(c), |acc, p| acc.add(p))
}

/// `(Σ_r (x[r,c] − shift_c), Σ_r (x[r,c] − shift_c)²)` per channel.
pub(crate) fn shifted_sums<T: Element>(x: &[T], c: usize, shift: &[f64]) -> ChannelSums {
    let m = x.len() / c.max(1);
    reduce_rows(m, c, |rows, sums| {
        shifted_rows(&x[rows.start * c..rows.end * c], shift, sums)
    })
}

/// Adds the rows of `x` `(rows, C)` to the shifted sums.
fn shifted_rows<T: Element>(x: &[T], shift: &[f64], sums: &mut ChannelSums) {
    for row in x.chunks_exact(shift.len()) {
        shifted_row(row, shift, &mut sums.first, &mut sums.second);
    }
}

/// One row: `s_c += x_c − shift_c`, `ss_c += (x_c − shift_c)²`. The accumulators are slice
/// arguments (so the compiler knows they alias nothing) of one length (no bounds checks): the
/// loop vectorizes.
#[inline(never)]
fn shifted_row<T: Element>(row: &[T], shift: &[f64], s: &mut [f64], ss: &mut [f64]) {
    let c = shift.len();
    let (row, s, ss) = (&row[..c], &mut s[..c], &mut ss[..c]);
    for i in 0..c {
        let d = row[i].to_f64() - shift[i];
        s[i] += d;
        ss[i] += d * d;
    }
}

/// `(Σ_r g[r,c], Σ_r g[r,c]·(x[r,c] − μ_c))` per channel, with `g = dy`, or `g = dy·[y > 0]`
/// when `relu`.
pub(crate) fn gradient_sums<T: Element>(
    dy: &[T],
    x: &[T],
    y: &[T],
    mean: &[f64],
    relu: bool,
) -> ChannelSums {
    let c = mean.len();
    let m = x.len() / c.max(1);
    reduce_rows(m, c, |rows, sums| {
        let span = rows.start * c..rows.end * c;
        let (dy, x, y) = (&dy[span.clone()], &x[span.clone()], &y[span]);
        if relu {
            gradient_rows::<T, true>(dy, x, y, mean, sums)
        } else {
            gradient_rows::<T, false>(dy, x, y, mean, sums)
        }
    })
}

/// Adds the rows of `(dy, x, y)` `(rows, C)` to the gradient sums.
fn gradient_rows<T: Element, const RELU: bool>(
    dy: &[T],
    x: &[T],
    y: &[T],
    mean: &[f64],
    sums: &mut ChannelSums,
) {
    let c = mean.len();
    let rows = dy
        .chunks_exact(c)
        .zip(x.chunks_exact(c))
        .zip(y.chunks_exact(c));
    for ((dy, x), y) in rows {
        gradient_row::<T, RELU>((dy, x, y), mean, &mut sums.first, &mut sums.second);
    }
}

/// One row: `sg_c += g_c`, `sgx_c += g_c·(x_c − μ_c)` (vectorizes as [`shifted_row`]).
#[inline(never)]
fn gradient_row<T: Element, const RELU: bool>(
    (dy, x, y): (&[T], &[T], &[T]),
    mean: &[f64],
    sg: &mut [f64],
    sgx: &mut [f64],
) {
    let c = mean.len();
    let (dy, x, y, sg, sgx) = (&dy[..c], &x[..c], &y[..c], &mut sg[..c], &mut sgx[..c]);
    for i in 0..c {
        // Load unconditionally, then select: a conditional load would stop vectorization.
        let g = dy[i].to_f64();
        let g = if !RELU || y[i] > T::ZERO { g } else { 0.0 };
        sg[i] += g;
        sgx[i] += g * (x[i].to_f64() - mean[i]);
    }
}
