//! A bias-free 2-D convolution layer with torchvision's initialization.

use candle_core::{Tensor, Var};

use super::error::Result;
use super::inference::param;
use super::params::{ParamRole, ParamStore};
use crate::kernels::{Conv2dParams, conv2d};

/// `y = W ⋆ x` with a `(c_out, c_in, k, k)` kernel named `{prefix}.weight`, no bias (every conv
/// of the backbones is followed by BatchNorm).
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Var,
    stride: usize,
    padding: usize,
}

impl Conv2d {
    /// Kaiming-normal initialization in fan-out mode for ReLU, as torchvision's ResNet:
    /// `W ~ N(0, 2 / (c_out·k²))`.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        (c_in, c_out): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
        role: ParamRole,
    ) -> Result<Self> {
        let std = (2.0 / (c_out * kernel * kernel) as f64).sqrt();
        let weight = store.normal(
            &format!("{prefix}.weight"),
            &[c_out, c_in, kernel, kernel],
            std,
            role,
        )?;
        Ok(Self {
            weight,
            stride,
            padding,
        })
    }

    /// Applies the convolution to a channels-last `(N, H, W, c_in)` tensor (output
    /// `(N, H', W', c_out)`) with the kernel of
    /// [`crate::kernels::conv2d`] (its own backward; candle 0.11's conv backward is slow on a CPU
    /// and wrong for non-square inputs with stride 2).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let params = Conv2dParams {
            stride: self.stride,
            padding: self.padding,
        };
        Ok(conv2d(x, &param(&self.weight), params)?)
    }
}
