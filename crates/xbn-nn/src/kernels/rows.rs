//! Row-parallel helpers of the transformer kernels: contiguous f32 data viewed as rows of its
//! last dimension.

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

/// Rows per rayon task: enough work to amortize the split.
const ROWS_PER_TASK: usize = 64;

/// Whether a fused CPU kernel applies: an f32 tensor on the CPU with a non-empty last dimension.
pub(crate) fn fused_applies(t: &Tensor) -> bool {
    matches!(t.device(), Device::Cpu)
        && t.dtype() == DType::F32
        && t.dims().last().is_some_and(|&d| d > 0)
}

/// `out[r] = f(x[r])` for every row `r` (length `d`) of `x`, in parallel.
pub(crate) fn par_rows(x: &[f32], d: usize, f: impl Fn(&[f32], &mut [f32]) + Sync) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    let block = d.max(1) * ROWS_PER_TASK;
    out.par_chunks_mut(block)
        .zip(x.par_chunks(block))
        .for_each(|(o, i)| {
            for (o, i) in o.chunks_mut(d).zip(i.chunks(d)) {
                f(i, o);
            }
        });
    out
}

/// `out[r] = f(a[r], b[r])` for the rows of two arrays of one length, in parallel.
pub(crate) fn par_rows2(
    a: &[f32],
    b: &[f32],
    d: usize,
    f: impl Fn(&[f32], &[f32], &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = vec![0f32; a.len()];
    let block = d.max(1) * ROWS_PER_TASK;
    out.par_chunks_mut(block)
        .zip(a.par_chunks(block))
        .zip(b.par_chunks(block))
        .for_each(|((o, ia), ib)| {
            for ((o, ia), ib) in o.chunks_mut(d).zip(ia.chunks(d)).zip(ib.chunks(d)) {
                f(ia, ib, o);
            }
        });
    out
}
