//! Writing a batch into consecutive slots of a ring buffer.

use candle_core::Tensor;

/// Writes the rows of `src` `(k × …)` into rows `start, start + 1, … (mod capacity)` of `dst`
/// `(capacity × …)`, in place, for `k ≤ capacity` and `start < capacity`.
pub(crate) fn ring_write(dst: &Tensor, src: &Tensor, start: usize) -> candle_core::Result<()> {
    let (cap, k) = (dst.dim(0)?, src.dim(0)?);
    let first = k.min(cap - start);
    dst.slice_set(&src.narrow(0, 0, first)?, 0, start)?;
    if k > first {
        dst.slice_set(&src.narrow(0, first, k - first)?, 0, 0)?;
    }
    Ok(())
}
