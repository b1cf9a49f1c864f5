//! ResNet-50 (bottleneck ResNet v1.5) with torchvision/timm parameter names and a training mode.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

use super::batch_norm::{BatchNorm2d, BatchNormMode};
use super::conv::Conv2d;
use super::error::{ModelError, Result};
use super::head::EmbeddingHead;
use super::params::{ParamGroups, ParamRole, ParamRoles, ParamStore};
use super::pooling::Pooling;
use super::{Backbone, IMAGENET_MEAN, IMAGENET_STD, ImageSpec, Input, InputSpec, check_images};
use crate::kernels::{max_pool2d, to_channels_last};

/// Bottleneck expansion: a block's output has `4 × planes` channels.
const EXPANSION: usize = 4;

/// Shape of a [`ResNet`]. [`ResNetConfig::resnet50`] is torchvision's `resnet50`; smaller
/// `base_width`/`layers` give fast random variants for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct ResNetConfig {
    /// Channels of the stem and of the first stage's bottleneck (64 for ResNet-50).
    pub base_width: usize,
    /// Bottleneck blocks per stage (`[3, 4, 6, 3]` for ResNet-50).
    pub layers: [usize; 4],
    /// Embedding dimension `d` of the head.
    pub embedding_dim: usize,
    /// Expected square input size in pixels.
    pub input_size: usize,
    /// BatchNorm behaviour while training.
    pub bn_mode: BatchNormMode,
    /// Seed of the random initialization (overwritten by pretrained weights).
    pub seed: u64,
    /// Global pooling before the head.
    pub pooling: Pooling,
}

impl ResNetConfig {
    /// ResNet-50 at 224 pixels with an embedding of dimension `embedding_dim`.
    pub fn resnet50(embedding_dim: usize) -> Self {
        Self {
            base_width: 64,
            layers: [3, 4, 6, 3],
            embedding_dim,
            input_size: 224,
            bn_mode: BatchNormMode::Trained,
            seed: 0,
            pooling: Pooling::Avg,
        }
    }

    /// Pooled feature dimension `8 · base_width · 4` (2048 for ResNet-50).
    pub fn feature_dim(&self) -> usize {
        self.base_width * 8 * EXPANSION
    }
}

impl Default for ResNetConfig {
    /// [`ResNetConfig::resnet50`] with `d = 512`.
    fn default() -> Self {
        Self::resnet50(512)
    }
}

/// `1×1 → 3×3 (stride) → 1×1` with BatchNorm and an identity or `downsample` shortcut, named
/// like torchvision's `Bottleneck` (`conv1`, `bn1`, …, `downsample.0`, `downsample.1`).
struct Bottleneck {
    convs: [(Conv2d, BatchNorm2d); 3],
    downsample: Option<(Conv2d, BatchNorm2d)>,
}

impl Bottleneck {
    fn new(
        store: &mut ParamStore,
        prefix: &str,
        (c_in, planes, stride): (usize, usize, usize),
        mode: BatchNormMode,
    ) -> Result<Self> {
        let b = ParamRole::Backbone;
        let out = planes * EXPANSION;
        let mut conv_bn = |i: usize, c: (usize, usize), k: usize, s: usize| -> Result<_> {
            Ok((
                Conv2d::new(store, &format!("{prefix}.conv{i}"), c, k, s, k / 2, b)?,
                BatchNorm2d::new(store, &format!("{prefix}.bn{i}"), c.1, b, mode)?,
            ))
        };
        let convs = [
            conv_bn(1, (c_in, planes), 1, 1)?,
            conv_bn(2, (planes, planes), 3, stride)?,
            conv_bn(3, (planes, out), 1, 1)?,
        ];
        let downsample = if stride != 1 || c_in != out {
            let p = format!("{prefix}.downsample");
            Some((
                Conv2d::new(store, &format!("{p}.0"), (c_in, out), 1, stride, 0, b)?,
                BatchNorm2d::new(store, &format!("{p}.1"), out, b, mode)?,
            ))
        } else {
            None
        };
        Ok(Self { convs, downsample })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let shortcut = match &self.downsample {
            Some((conv, bn)) => bn.forward(&conv.forward(x)?, train)?,
            None => x.clone(),
        };
        let mut y = x.clone();
        for (i, (conv, bn)) in self.convs.iter().enumerate() {
            let z = conv.forward(&y)?;
            y = if i < 2 {
                bn.forward_relu(&z, train)?
            } else {
                // ReLU(bn3(z) + shortcut) in one kernel.
                bn.forward_add_relu(&z, &shortcut, train)?
            };
        }
        Ok(y)
    }
}

/// A bottleneck ResNet with an embedding head: `conv1 7×7/2 → bn1 → ReLU → max-pool 3×3/2 →
/// layer1..4 → global pool ([`ResNetConfig::pooling`]: average as torchvision, max as XBM's
/// reference) → linear (2048 → d) → L2 normalize`. Tensor names follow
/// torchvision/timm (`conv1.weight`, `layer1.0.downsample.1.running_var`, …) so their
/// safetensors load unchanged; the classifier `fc` is not part of the model and the head is
/// named `head.weight`, `head.bias`.
pub struct ResNet {
    stem: (Conv2d, BatchNorm2d),
    stages: Vec<Vec<Bottleneck>>,
    head: EmbeddingHead,
    config: ResNetConfig,
    varmap: VarMap,
    roles: ParamRoles,
}

impl ResNet {
    /// A randomly initialized network (torchvision's init, seeded by `config.seed`); load
    /// pretrained weights with [`super::load_weights`].
    pub fn new(config: &ResNetConfig, dtype: DType, device: &Device) -> Result<Self> {
        if config.base_width == 0 || config.layers.contains(&0) {
            return Err(ModelError::InvalidConfig(format!(
                "ResNet needs base_width ≥ 1 and ≥ 1 block per stage, got base_width {} and layers {:?}",
                config.base_width, config.layers
            )));
        }
        let mut store = ParamStore::new(config.seed, dtype, device);
        let w = config.base_width;
        let b = ParamRole::Backbone;
        let stem = (
            Conv2d::new(&mut store, "conv1", (3, w), 7, 2, 3, b)?,
            BatchNorm2d::new(&mut store, "bn1", w, b, config.bn_mode)?,
        );
        let mut c_in = w;
        let mut stages = Vec::with_capacity(4);
        for (s, &blocks) in config.layers.iter().enumerate() {
            let planes = w << s;
            let mut stage = Vec::with_capacity(blocks);
            for j in 0..blocks {
                let stride = if s > 0 && j == 0 { 2 } else { 1 };
                let prefix = format!("layer{}.{j}", s + 1);
                stage.push(Bottleneck::new(
                    &mut store,
                    &prefix,
                    (c_in, planes, stride),
                    config.bn_mode,
                )?);
                c_in = planes * EXPANSION;
            }
            stages.push(stage);
        }
        let head = EmbeddingHead::new(&mut store, "head", c_in, config.embedding_dim)?;
        let (varmap, roles) = store.finish();
        Ok(Self {
            stem,
            stages,
            head,
            config: config.clone(),
            varmap,
            roles,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &ResNetConfig {
        &self.config
    }
}

impl Backbone for ResNet {
    fn name(&self) -> &str {
        "resnet50"
    }

    fn features(&self, input: &Input, train: bool) -> Result<Tensor> {
        let images = input.images(self.name())?;
        check_images(images, 3)?;
        let (conv, bn) = &self.stem;
        let x = bn.forward_relu(&conv.forward(&to_channels_last(images)?)?, train)?;
        let mut x = max_pool2d(&x, 3, 2, 1)?;
        for stage in &self.stages {
            for block in stage {
                x = block.forward(&x, train)?;
            }
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
        self.config.feature_dim()
    }

    fn input_spec(&self) -> InputSpec {
        InputSpec::Images(ImageSpec {
            channels: 3,
            height: self.config.input_size,
            width: self.config.input_size,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
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
