//! Channels-first `(N, C, H, W)` ⇄ channels-last `(N, H, W, C)`.
//!
//! The kernels work channels-last; the backbones permute their images once at the input, and
//! the composed fallbacks of other devices permute around channels-first ops.

use candle_core::{Error, Result, Tensor};

use super::element::Element;

/// `x[n,c,h,w] → y[n,h,w,c]`, contiguous.
pub fn to_channels_last(x: &Tensor) -> Result<Tensor> {
    rank4(x, "to_channels_last", "(N, C, H, W)")?;
    x.permute((0, 2, 3, 1))?.contiguous()
}

/// `x[n,h,w,c] → y[n,c,h,w]`, contiguous.
pub fn to_channels_first(x: &Tensor) -> Result<Tensor> {
    rank4(x, "to_channels_first", "(N, H, W, C)")?;
    x.permute((0, 3, 1, 2))?.contiguous()
}

fn rank4(x: &Tensor, op: &str, expected: &str) -> Result<()> {
    if x.rank() != 4 {
        return Err(Error::Msg(format!(
            "{op}: expected a rank-4 tensor {expected}, got shape {:?}",
            x.dims()
        )));
    }
    Ok(())
}

/// Host copy of [`to_channels_last`]: `src` is `(N, C, HW)`, the result `(N, HW, C)`.
#[cfg_attr(not(feature = "cudnn"), allow(dead_code))]
pub(crate) fn host_channels_last<T: Element>(src: &[T], n: usize, c: usize, hw: usize) -> Vec<T> {
    let mut dst = vec![T::ZERO; src.len()];
    for img in 0..n {
        let (s, d) = (
            &src[img * c * hw..][..c * hw],
            &mut dst[img * c * hw..][..c * hw],
        );
        for ch in 0..c {
            for p in 0..hw {
                d[p * c + ch] = s[ch * hw + p];
            }
        }
    }
    dst
}

/// Host copy of [`to_channels_first`]: `src` is `(N, HW, C)`, the result `(N, C, HW)`.
#[cfg_attr(not(feature = "cudnn"), allow(dead_code))]
pub(crate) fn host_channels_first<T: Element>(src: &[T], n: usize, c: usize, hw: usize) -> Vec<T> {
    let mut dst = vec![T::ZERO; src.len()];
    for img in 0..n {
        let (s, d) = (
            &src[img * c * hw..][..c * hw],
            &mut dst[img * c * hw..][..c * hw],
        );
        for p in 0..hw {
            for ch in 0..c {
                d[ch * hw + p] = s[p * c + ch];
            }
        }
    }
    dst
}
