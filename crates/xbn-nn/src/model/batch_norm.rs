//! 2-D batch normalization with a real training mode (candle-nn's is inference-only), on the
//! fused kernel of [`crate::kernels::batch_norm2d`].

use candle_core::{Tensor, Var};

use super::error::{ModelError, Result};
use super::inference::param;
use super::params::{ParamRole, ParamStore};
use crate::kernels::{BatchNormStatistics, batch_norm2d, batch_norm2d_add_relu};

/// How BatchNorm layers behave while training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchNormMode {
    /// PyTorch's `train()` behaviour: normalize with the batch statistics and update the
    /// running statistics with momentum 0.1 (`r ← (1 − 0.1)·r + 0.1·s`, unbiased variance).
    #[default]
    Trained,
    /// Always normalize with the running statistics (PyTorch `eval()` BN, as XBM's reference
    /// code does for pretrained backbones); `freeze_affine` also removes `γ, β` from the
    /// trainable parameters.
    Frozen {
        /// Keep the affine parameters `γ, β` fixed too.
        freeze_affine: bool,
    },
}

/// `y = (x − μ) / sqrt(σ² + ε) · γ + β` per channel of a channels-last `(N, H, W, C)` tensor
/// (the backbones' internal layout, see [`crate::kernels`]), with torchvision
/// parameter names `{prefix}.weight` (γ), `.bias` (β), `.running_mean`, `.running_var`.
#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    weight: Var,
    bias: Var,
    running_mean: Var,
    running_var: Var,
    channels: usize,
    eps: f64,
    momentum: f64,
    mode: BatchNormMode,
}

impl BatchNorm2d {
    /// PyTorch's defaults: `ε = 1e-5`, momentum 0.1, `γ = 1`, `β = 0`, running mean 0 and
    /// variance 1. `role` is the group of `γ, β` unless the mode freezes them.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        channels: usize,
        role: ParamRole,
        mode: BatchNormMode,
    ) -> Result<Self> {
        let affine_role = match mode {
            BatchNormMode::Frozen {
                freeze_affine: true,
            } => ParamRole::Buffer,
            _ => role,
        };
        let c = [channels];
        Ok(Self {
            weight: store.constant(&format!("{prefix}.weight"), &c, 1.0, affine_role)?,
            bias: store.constant(&format!("{prefix}.bias"), &c, 0.0, affine_role)?,
            running_mean: store.constant(
                &format!("{prefix}.running_mean"),
                &c,
                0.0,
                ParamRole::Buffer,
            )?,
            running_var: store.constant(
                &format!("{prefix}.running_var"),
                &c,
                1.0,
                ParamRole::Buffer,
            )?,
            channels,
            eps: 1e-5,
            momentum: 0.1,
            mode,
        })
    }

    /// The mode chosen at construction.
    pub fn mode(&self) -> BatchNormMode {
        self.mode
    }

    fn affine(&self) -> (Tensor, Tensor) {
        let frozen = matches!(
            self.mode,
            BatchNormMode::Frozen {
                freeze_affine: true
            }
        );
        if frozen {
            (
                self.weight.as_tensor().detach(),
                self.bias.as_tensor().detach(),
            )
        } else {
            (param(&self.weight), param(&self.bias))
        }
    }

    /// Normalizes `x` `(N, H, W, C)`. With `train` and [`BatchNormMode::Trained`] it uses the
    /// batch's biased statistics `μ_B, σ²_B` over `(N, H, W)` and then updates the running
    /// statistics with `μ_B` and the unbiased `σ²_B · m/(m−1)`, `m = N·H·W`; otherwise it uses the
    /// running statistics. Runs the fused kernel [`batch_norm2d`].
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_fused(x, train, false)
    }

    /// `ReLU(BN(x))` in one fused kernel: the same as `forward(x, train)?.relu()` without the
    /// intermediate tensor.
    pub fn forward_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_fused(x, train, true)
    }

    /// `ReLU(BN(x) + shortcut)` in one fused kernel (the end of a residual block), without
    /// storing `BN(x)` or the sum.
    pub fn forward_add_relu(&self, x: &Tensor, shortcut: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_impl(x, Some(shortcut), train, true)
    }

    fn forward_fused(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        self.forward_impl(x, None, train, relu)
    }

    fn forward_impl(
        &self,
        x: &Tensor,
        shortcut: Option<&Tensor>,
        train: bool,
        relu: bool,
    ) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        if dims.len() != 4 || dims[3] != self.channels {
            return Err(ModelError::BadInput {
                what: "BatchNorm2d input",
                expected: format!("channels-last (N, H, W, {})", self.channels),
                shape: dims,
            });
        }
        let (gamma, beta) = self.affine();
        if train && self.mode == BatchNormMode::Trained {
            let m = dims[0] * dims[1] * dims[2];
            if m < 2 {
                return Err(ModelError::BadInput {
                    what: "BatchNorm2d in training mode",
                    expected: "more than one value per channel (N·H·W > 1)".into(),
                    shape: dims,
                });
            }
            let stats = BatchNormStatistics::Batch;
            let out = match shortcut {
                Some(r) => batch_norm2d_add_relu(x, &gamma, &beta, r, stats, self.eps)?,
                None => batch_norm2d(x, &gamma, &beta, stats, self.eps, relu)?,
            };
            if let Some((mean, var)) = &out.batch_moments {
                self.update_running(mean, var, m)?;
            }
            Ok(out.output)
        } else {
            let mean = self.running_mean.as_tensor().detach();
            let var = self.running_var.as_tensor().detach();
            let stats = BatchNormStatistics::Fixed {
                mean: &mean,
                var: &var,
            };
            let out = match shortcut {
                Some(r) => batch_norm2d_add_relu(x, &gamma, &beta, r, stats, self.eps)?,
                None => batch_norm2d(x, &gamma, &beta, stats, self.eps, relu)?,
            };
            Ok(out.output)
        }
    }

    fn update_running(&self, mean: &Tensor, biased_var: &Tensor, m: usize) -> Result<()> {
        let mo = self.momentum;
        let dtype = self.running_mean.dtype();
        let unbiased = (biased_var.to_dtype(dtype)? * (m as f64 / (m as f64 - 1.0)))?;
        let rm = ((self.running_mean.as_tensor().detach() * (1.0 - mo))?
            + (mean.to_dtype(dtype)? * mo)?)?;
        let rv = ((self.running_var.as_tensor().detach() * (1.0 - mo))? + (unbiased * mo)?)?;
        self.running_mean.set(&rm)?;
        self.running_var.set(&rv)?;
        Ok(())
    }
}
