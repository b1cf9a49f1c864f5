//! Backbones: the small default CNN and ResNet-50, behind one trait.
//!
//! A [`Backbone`] maps a batch of normalized images `(N, 3, H, W)` to unit-norm embeddings
//! `(N × d)`: features `g = pool(f(x))`, then the head `z = normalize(g Wᵀ + b)`. Its tensors
//! live in a [`VarMap`] under torchvision/timm names, split into trainable backbone and head
//! groups (separate learning rates) and buffers (BatchNorm running statistics).
//!
//! Images come in channels-first, PyTorch's layout; each backbone permutes them once to
//! channels-last `(N, H, W, C)`, the layout of every layer inside (the kernels of
//! [`crate::kernels`] were measured faster that way). Weights keep PyTorch's layouts and names.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use xbn_nn::model::{Backbone, SmallCnn, SmallCnnConfig};
//!
//! let cnn = SmallCnn::new(&SmallCnnConfig::default(), DType::F32, &Device::Cpu)?;
//! let spec = cnn.input_spec().images().copied().expect("an image backbone");
//! let images = Tensor::zeros((2, 3, spec.height, spec.width), DType::F32, &Device::Cpu)?;
//! let z = cnn.forward(&images.into(), false)?;
//! assert_eq!(z.dims(), &[2, cnn.embedding_dim()]);
//! # Ok::<(), xbn_nn::model::ModelError>(())
//! ```

mod batch_norm;
mod bert;
mod conv;
mod error;
mod head;
mod inference;
mod input;
mod params;
mod pooling;
mod resnet;
mod small_cnn;
pub mod transformer;
mod vit;
mod weights;

use candle_core::Tensor;
use candle_nn::VarMap;

pub use crate::kernels::{conv2d_unfold, max_pool2d};
pub use batch_norm::{BatchNorm2d, BatchNormMode};
pub use bert::{BertConfig, BertEncoder, SentenceLayout, TokenPooling};
pub use conv::Conv2d;
pub use error::{ModelError, Result};
pub use head::EmbeddingHead;
pub use inference::{inference_mode, is_inference_mode};
pub use input::{Input, Tokens};
pub use params::{ParamGroups, ParamRole, ParamRoles, ParamStore};
pub use pooling::{Pooling, global_avg_pool};
pub use resnet::{ResNet, ResNetConfig};
pub use small_cnn::{SmallCnn, SmallCnnConfig};
pub use vit::{VisionTransformer, VitConfig, VitFlavor, VitPooling, resample_positions};
pub use weights::{
    HubOptions, LoadOptions, LoadReport, WeightSource, hub_offline_from_env, load_tensors,
    load_weights, read_weight_file, resolve_weights,
};

/// The images an image backbone expects: size and the per-channel normalization
/// `x = (pixel/255 − mean) / std` the data pipeline must apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageSpec {
    /// Image channels (3).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Per-channel mean, in `[0, 1]` pixel units.
    pub mean: [f32; 3],
    /// Per-channel standard deviation, in `[0, 1]` pixel units.
    pub std: [f32; 3],
}

/// The token sequences a text backbone expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSpec {
    /// The longest sequence the position embeddings cover (special tokens included).
    pub max_positions: usize,
    /// The vocabulary size: every id must be below it.
    pub vocab_size: usize,
}

/// The input a backbone expects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputSpec {
    /// Images ([`Input::Images`]).
    Images(ImageSpec),
    /// Tokenized texts ([`Input::Tokens`]).
    Tokens(TokenSpec),
}

impl InputSpec {
    /// The image specification of an image backbone.
    pub fn images(&self) -> Option<&ImageSpec> {
        match self {
            InputSpec::Images(spec) => Some(spec),
            InputSpec::Tokens(_) => None,
        }
    }

    /// The token specification of a text backbone.
    pub fn tokens(&self) -> Option<&TokenSpec> {
        match self {
            InputSpec::Tokens(spec) => Some(spec),
            InputSpec::Images(_) => None,
        }
    }
}

/// ImageNet's channel means (torchvision / timm `resnet50.a1_in1k`).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet's channel standard deviations.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// An embedding network with a training mode.
pub trait Backbone: Send + Sync {
    /// A short name for logs (`small-cnn`, `resnet50`).
    fn name(&self) -> &str;

    /// Pooled features `g` `(N × feature_dim)` of a batch: images `(N, 3, H, W)` for image
    /// backbones, tokens for text backbones (the other kind is an error). `train` selects the
    /// training behaviour of BatchNorm (batch statistics, running statistics updated) unless the
    /// backbone's BatchNorm is frozen.
    fn features(&self, input: &Input, train: bool) -> Result<Tensor>;

    /// The head applied to features: unit-norm embeddings `(N × embedding_dim)`.
    fn head(&self, features: &Tensor) -> Result<Tensor>;

    /// Unit-norm embeddings `z = normalize(g Wᵀ + b)` `(N × embedding_dim)`.
    fn forward(&self, input: &Input, train: bool) -> Result<Tensor> {
        self.head(&self.features(input, train)?)
    }

    /// Evaluation-mode embeddings that record no autograd graph (PyTorch's
    /// `model.eval()` under `torch.inference_mode()`): every intermediate is freed as soon as
    /// the next layer has read it, so peak memory stays flat across evaluation batches. Used by
    /// evaluation, `embed`, the drift diagnostic and the memory warm start.
    fn embed(&self, input: &Input) -> Result<Tensor> {
        let input = input.detach();
        inference_mode(|| self.forward(&input, false))
    }

    /// The embedding dimension `d`.
    fn embedding_dim(&self) -> usize;

    /// The dimension of the pooled features fed to the head.
    fn feature_dim(&self) -> usize;

    /// The input it expects: image size and normalization, or token limits.
    fn input_spec(&self) -> InputSpec;

    /// Every tensor (parameters and buffers) under its saved name.
    fn varmap(&self) -> &VarMap;

    /// The trainable parameters, split into backbone and head groups.
    fn param_groups(&self) -> ParamGroups;

    /// Every named tensor with its role.
    fn roles(&self) -> &ParamRoles;

    /// The depth of a feature-extractor parameter for layer-wise learning-rate decay: 0 for the
    /// input embeddings, `i + 1` for encoder layer `i`, up to [`Backbone::depth`] for the final
    /// norm; `None` for the head and for backbones without such layers (the CNNs).
    fn layer_depth(&self, _name: &str) -> Option<usize> {
        None
    }

    /// The largest [`Backbone::layer_depth`] (0 without layers).
    fn depth(&self) -> usize {
        0
    }
}

/// Checks that `images` is `(N, channels, H, W)` with `N ≥ 1`.
pub(crate) fn check_images(images: &Tensor, channels: usize) -> Result<()> {
    let dims = images.dims();
    if dims.len() != 4 || dims[1] != channels || dims[0] == 0 {
        return Err(ModelError::BadInput {
            what: "images",
            expected: format!("(N ≥ 1, {channels}, H, W)"),
            shape: dims.to_vec(),
        });
    }
    Ok(())
}
