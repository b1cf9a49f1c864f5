//! Masked log-sum-exp and extremes, numerically stable and safe to differentiate (softplus:
//! `crate::softplus`).

use candle_core::{D, Tensor};

use crate::Result;

/// Row-wise `log Σ_{j: mask_ij = 1} exp(x_ij)` (plus `exp(0)` when `add_one`), as PML's
/// `lmu.logsumexp(x, keep_mask, add_one, dim=1)`. Rows with an empty mask give 0.
/// `x`, `mask: (b × m)` (mask 0/1 in `x`'s dtype) → `(b,)`. The row maximum is detached.
pub fn masked_logsumexp(x: &Tensor, mask: &Tensor, add_one: bool) -> Result<Tensor> {
    let keep = mask.ne(0.0)?;
    let neg_inf = Tensor::full(f64::NEG_INFINITY, (), x.device())?
        .to_dtype(x.dtype())?
        .broadcast_as(x.shape())?;
    let xm = keep.where_cond(x, &neg_inf)?;
    let has_any = mask.max_keepdim(D::Minus1)?; // (b × 1), 0/1
    let row_max = xm.max_keepdim(D::Minus1)?.detach();
    // Rows with an empty mask have max −∞: use 0 there so that no −∞ − (−∞) appears.
    let zeros = row_max.zeros_like()?;
    let mut row_max = has_any.ne(0.0)?.where_cond(&row_max, &zeros)?;
    if add_one {
        row_max = row_max.maximum(0.0)?;
    }
    let mut s = xm.broadcast_sub(&row_max)?.exp()?.sum_keepdim(D::Minus1)?;
    if add_one {
        s = s.add(&row_max.neg()?.exp()?)?;
    } else {
        // Empty rows: s = 0 → use 1 so that log stays finite (the row is zeroed below).
        s = s.add(&has_any.affine(-1.0, 1.0)?)?;
    }
    let out = s.log()?.add(&row_max)?;
    let out = if add_one { out } else { out.mul(&has_any)? };
    Ok(out.squeeze(D::Minus1)?)
}

/// Row-wise max (or min when `min`) of `x` over entries with `mask = 1`, detached; rows with an
/// empty mask give −∞ (max) or +∞ (min). `(b × m)` → `(b × 1)`.
pub fn masked_extreme(x: &Tensor, mask: &Tensor, min: bool) -> Result<Tensor> {
    let fill = if min {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let fill = Tensor::full(fill, (), x.device())?
        .to_dtype(x.dtype())?
        .broadcast_as(x.shape())?;
    let xm = mask.ne(0.0)?.where_cond(&x.detach(), &fill)?;
    Ok(if min {
        xm.min_keepdim(D::Minus1)?
    } else {
        xm.max_keepdim(D::Minus1)?
    })
}
