//! The default backbone: a small conv-BN-ReLU network that trains from scratch on a CPU.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

use super::batch_norm::{BatchNorm2d, BatchNormMode};
use super::conv::Conv2d;
use super::error::{ModelError, Result};
use super::head::EmbeddingHead;
use super::params::{ParamGroups, ParamRole, ParamRoles, ParamStore};
use super::pooling::Pooling;
use super::{Backbone, ImageSpec, Input, InputSpec, check_images};
use crate::kernels::to_channels_last;

/// Shape of a [`SmallCnn`].
#[derive(Debug, Clone, PartialEq)]
pub struct SmallCnnConfig {
    /// Output channels of each conv-BN-ReLU block; every block after the first halves the
    /// resolution (stride 2).
    pub channels: Vec<usize>,
    /// Stride of the first block (2 halves the input right away, the cheap choice on a CPU).
    pub first_stride: usize,
    /// Embedding dimension `d`.
    pub embedding_dim: usize,
    /// Expected square input size in pixels.
    pub input_size: usize,
    /// Per-channel normalization mean.
    pub mean: [f32; 3],
    /// Per-channel normalization standard deviation.
    pub std: [f32; 3],
    /// BatchNorm behaviour while training.
    pub bn_mode: BatchNormMode,
    /// Seed of the weight initialization.
    pub seed: u64,
    /// Global pooling before the head.
    pub pooling: Pooling,
}

impl Default for SmallCnnConfig {
    /// Four blocks of 32, 64, 128, 256 channels, `d = 128`, 32-pixel inputs.
    fn default() -> Self {
        Self {
            channels: vec![32, 64, 128, 256],
            first_stride: 2,
            embedding_dim: 128,
            input_size: 32,
            mean: [0.5; 3],
            std: [0.25; 3],
            bn_mode: BatchNormMode::Trained,
            pooling: Pooling::Avg,
            seed: 0,
        }
    }
}

/// `x → [conv3×3 → BN → ReLU] × L → global pool → linear → L2 normalize`, tensors named
/// `blocks.{i}.conv.weight`, `blocks.{i}.bn.*`, `head.weight`, `head.bias`.
pub struct SmallCnn {
    blocks: Vec<(Conv2d, BatchNorm2d)>,
    head: EmbeddingHead,
    config: SmallCnnConfig,
    varmap: VarMap,
    roles: ParamRoles,
}

impl SmallCnn {
    /// A randomly initialized network (seeded by `config.seed`).
    pub fn new(config: &SmallCnnConfig, dtype: DType, device: &Device) -> Result<Self> {
        if config.channels.is_empty() || config.channels.contains(&0) || config.first_stride == 0 {
            return Err(ModelError::InvalidConfig(format!(
                "small CNN needs a non-empty list of positive channel counts and a positive first \
                 stride, got {:?} and {}",
                config.channels, config.first_stride
            )));
        }
        let mut store = ParamStore::new(config.seed, dtype, device);
        let mut blocks = Vec::with_capacity(config.channels.len());
        let mut c_in = 3;
        for (i, &c_out) in config.channels.iter().enumerate() {
            let stride = if i == 0 { config.first_stride } else { 2 };
            let prefix = format!("blocks.{i}");
            let conv = Conv2d::new(
                &mut store,
                &format!("{prefix}.conv"),
                (c_in, c_out),
                3,
                stride,
                1,
                ParamRole::Backbone,
            )?;
            let bn = BatchNorm2d::new(
                &mut store,
                &format!("{prefix}.bn"),
                c_out,
                ParamRole::Backbone,
                config.bn_mode,
            )?;
            blocks.push((conv, bn));
            c_in = c_out;
        }
        let head = EmbeddingHead::new(&mut store, "head", c_in, config.embedding_dim)?;
        let (varmap, roles) = store.finish();
        Ok(Self {
            blocks,
            head,
            config: config.clone(),
            varmap,
            roles,
        })
    }
}

impl Backbone for SmallCnn {
    fn name(&self) -> &str {
        "small-cnn"
    }

    fn features(&self, input: &Input, train: bool) -> Result<Tensor> {
        let images = input.images(self.name())?;
        check_images(images, 3)?;
        let mut x = to_channels_last(images)?;
        for (conv, bn) in &self.blocks {
            x = bn.forward_relu(&conv.forward(&x)?, train)?;
        }
        self.config.pooling.apply(&x)
    }

    fn head(&self, features: &Tensor) -> Result<Tensor> {
        self.head.forward(features)
    }

    fn embedding_dim(&self) -> usize {
        self.head.out_dim()
    }

    fn feature_dim(&self) -> usize {
        self.config.channels.last().copied().unwrap_or(0)
    }

    fn input_spec(&self) -> InputSpec {
        InputSpec::Images(ImageSpec {
            channels: 3,
            height: self.config.input_size,
            width: self.config.input_size,
            mean: self.config.mean,
            std: self.config.std,
        })
    }

    fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    fn param_groups(&self) -> ParamGroups {
        self.roles.groups()
    }

    fn roles(&self) -> &ParamRoles {
        &self.roles
    }
}
