//! Leave-one-out k-NN over the upper triangle of the score matrix.
//!
//! Under leave-one-out the score matrix is symmetric, `S = X Xᵀ`, so each off-diagonal tile
//! `S_ij = X_i X_jᵀ` (`i < j`) serves twice: its rows extend the running top-k of the queries
//! of block `i` (references of block `j`) and its columns, i.e. the rows of `S_jiᵀ`, those of
//! block `j` (references of block `i`). Only the `nb (nb + 1) / 2` tiles with `i ≤ j` are
//! multiplied: half the flops of the plain scan. The price is that the running buffers of all
//! `n` queries live at once; [`symmetric_tile`] says whether they fit the budget.
//!
//! Every query still receives its references in increasing index order (blocks `0 … i − 1`
//! through columns at steps `0 … i − 1`, then blocks `i …` through rows at step `i`), which
//! the exact tie-breaking of [`RunningTopK`] relies on.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use crate::Result;
use crate::prepare::with_host_f32;
use crate::topk::{RunningTopK, buffer_len};

/// Output rows per transposition task (keeps the strided reads in cache).
const TRANSPOSE_ROWS: usize = 16;

/// Working memory of the symmetric scan with `b × b` tiles: the running buffers of all `n`
/// queries plus the tile, its transpose, and (off the CPU) the device tile.
pub(crate) fn symmetric_bytes(n: usize, b: usize, k: usize, device: &Device) -> usize {
    let copies = if device.is_cpu() { 2 } else { 3 };
    n * 8 * buffer_len(k) + copies * b * b * 4
}

/// The largest tile side in {2048, 1024, 512, 256} (at most `n`) whose
/// [`symmetric_bytes`] fit `budget`, or `None` (then the plain scan is used).
pub(crate) fn symmetric_tile(budget: usize, n: usize, k: usize, device: &Device) -> Option<usize> {
    [2048usize, 1024, 512, 256]
        .into_iter()
        .map(|b| b.min(n.max(1)))
        .find(|&b| symmetric_bytes(n, b, k, device) <= budget)
}

/// Leave-one-out scan of `x` (ranking space) in `b × b` tiles; calls `f(first_row, selections)`
/// for each finished block of `b` queries, in order, selections sorted best first.
pub(crate) fn for_each_block_symmetric<F>(
    x: &Tensor,
    bias: Option<&[f32]>,
    k: usize,
    b: usize,
    mut f: F,
) -> Result<()>
where
    F: FnMut(usize, &[RunningTopK]) -> Result<()>,
{
    let n = x.dim(0)?;
    let b = b.clamp(1, n);
    let mut states: Vec<RunningTopK> = (0..n).map(|_| RunningTopK::new(k)).collect();
    let mut transposed: Vec<f32> = Vec::new();
    for i0 in (0..n).step_by(b) {
        let ilen = b.min(n - i0);
        let xi = x.narrow(0, i0, ilen)?;
        for j0 in (i0..n).step_by(b) {
            let jlen = b.min(n - j0);
            let tile = xi.matmul(&x.narrow(0, j0, jlen)?.t()?)?;
            let (head, tail) = states.split_at_mut(j0);
            with_host_f32(&tile, |s| {
                // Rows: queries of block i, references of block j.
                let rows_of_i = if j0 == i0 {
                    &mut tail[..ilen]
                } else {
                    &mut head[i0..i0 + ilen]
                };
                let bias_j = bias.map(|v| &v[j0..j0 + jlen]);
                rows_of_i
                    .par_iter_mut()
                    .zip(s.par_chunks(jlen))
                    .enumerate()
                    .for_each(|(a, (st, row))| {
                        st.push_row(row, bias_j, j0 as u32, Some((i0 + a) as u32));
                    });
                if j0 == i0 {
                    return;
                }
                // Columns: queries of block j, references of block i.
                transpose(s, ilen, jlen, &mut transposed);
                let bias_i = bias.map(|v| &v[i0..i0 + ilen]);
                tail[..jlen]
                    .par_iter_mut()
                    .zip(transposed.par_chunks(ilen))
                    .for_each(|(st, row)| st.push_row(row, bias_i, i0 as u32, None));
            })?;
        }
        let done = &mut states[i0..i0 + ilen];
        done.par_iter_mut().for_each(|s| {
            s.finish();
        });
        f(i0, done)?;
        // Release the finished buffers.
        done.iter_mut().for_each(RunningTopK::release);
    }
    Ok(())
}

/// `out` (`cols × rows`) = transpose of the row-major `rows × cols` matrix `s`.
fn transpose(s: &[f32], rows: usize, cols: usize, out: &mut Vec<f32>) {
    out.resize(rows * cols, 0.0);
    out.par_chunks_mut(TRANSPOSE_ROWS * rows)
        .enumerate()
        .for_each(|(t, chunk)| {
            let c0 = t * TRANSPOSE_ROWS;
            let width = chunk.len() / rows;
            for r in 0..rows {
                let src = &s[r * cols + c0..r * cols + c0 + width];
                for (c, &v) in src.iter().enumerate() {
                    chunk[c * rows + r] = v;
                }
            }
        });
}
