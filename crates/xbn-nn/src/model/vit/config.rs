//! The configuration of a vision transformer.

use std::path::Path;

use candle_transformers::models::clip::vision_model::ClipVisionConfig;
use candle_transformers::models::vit::Config;
use serde_json::Value;

use super::super::error::{ModelError, Result};
use super::super::transformer::Activation;
use super::super::{IMAGENET_MEAN, IMAGENET_STD};

/// Which family: the weight names, layer scale, norms and input statistics differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VitFlavor {
    /// Hugging Face `ViTModel` (`google/vit-*`): mean and std 0.5.
    Vit,
    /// Hugging Face `Dinov2Model` (`facebook/dinov2-*`): layer scale, ImageNet statistics.
    Dinov2,
    /// The image tower of CLIP (`openai/clip-vit-*`): a norm before the encoder, QuickGELU,
    /// CLIP's statistics.
    ClipVision,
}

impl VitFlavor {
    /// The backbone name (`vit`, `dinov2`, `clip-vision`).
    pub fn name(self) -> &'static str {
        match self {
            VitFlavor::Vit => "vit",
            VitFlavor::Dinov2 => "dinov2",
            VitFlavor::ClipVision => "clip-vision",
        }
    }

    /// The per-channel mean and std its image processor normalizes with.
    pub fn statistics(self) -> ([f32; 3], [f32; 3]) {
        match self {
            VitFlavor::Vit => ([0.5; 3], [0.5; 3]),
            VitFlavor::Dinov2 => (IMAGENET_MEAN, IMAGENET_STD),
            VitFlavor::ClipVision => (
                [0.481_454_66, 0.457_827_5, 0.408_210_73],
                [0.268_629_54, 0.261_302_6, 0.275_777_1],
            ),
        }
    }
}

/// What the pooled feature vector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VitPooling {
    /// The class token.
    Cls,
    /// The mean of the patch tokens (the class token left out).
    MeanPatches,
}

/// A vision transformer: candle-transformers' ViT [`Config`] for the sizes, plus what the
/// flavors add.
#[derive(Debug, Clone)]
pub struct VitConfig {
    /// The family.
    pub flavor: VitFlavor,
    /// Sizes: hidden, layers, heads, MLP width, patch size, the image size the position
    /// embeddings were trained for, norm epsilon, query/key/value biases.
    pub encoder: Config,
    /// The MLP's nonlinearity.
    pub activation: Activation,
    /// The side of the square input in pixels (a multiple of the patch size); the position
    /// embeddings cover `(input_size / patch_size)²` patches.
    pub input_size: usize,
    /// Pooling of the final tokens.
    pub pooling: VitPooling,
    /// Embedding dimension of the linear head.
    pub head_dim: usize,
    /// Per-channel mean of the input normalization (the flavor's by default).
    pub mean: [f32; 3],
    /// Per-channel standard deviation of the input normalization (the flavor's by default).
    pub std: [f32; 3],
    /// Seed of the random initialization.
    pub seed: u64,
}

fn get_usize(v: &Value, key: &str, path: &Path) -> Result<usize> {
    v.get(key)
        .and_then(Value::as_u64)
        .map(|x| x as usize)
        .ok_or_else(|| ModelError::WeightFile {
            path: path.to_path_buf(),
            reason: format!("config.json: `{key}` is missing or not a whole number"),
        })
}

impl VitConfig {
    /// ViT-S/16 at 224 px (384 features, 12 layers of 6 heads), as DeiT-S and DINOv2-S.
    pub fn small(flavor: VitFlavor, patch_size: usize, head_dim: usize) -> Self {
        Self::sized(flavor, 384, 12, 6, patch_size, head_dim)
    }

    /// ViT-B/16 at 224 px (768 features, 12 layers of 12 heads).
    pub fn base(flavor: VitFlavor, patch_size: usize, head_dim: usize) -> Self {
        Self::sized(flavor, 768, 12, 12, patch_size, head_dim)
    }

    /// A configuration of the given sizes at 224 px, MLP width 4·hidden.
    pub fn sized(
        flavor: VitFlavor,
        hidden: usize,
        layers: usize,
        heads: usize,
        patch_size: usize,
        head_dim: usize,
    ) -> Self {
        let eps = match flavor {
            VitFlavor::Vit => 1e-12,
            VitFlavor::Dinov2 => 1e-6,
            VitFlavor::ClipVision => 1e-5,
        };
        let encoder = Config {
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: 4 * hidden,
            hidden_act: candle_nn::Activation::Gelu,
            layer_norm_eps: eps,
            image_size: 224,
            patch_size,
            num_channels: 3,
            qkv_bias: true,
        };
        let (mean, std) = flavor.statistics();
        Self {
            flavor,
            mean,
            std,
            activation: default_activation(flavor),
            encoder,
            input_size: 224,
            pooling: VitPooling::Cls,
            head_dim,
            seed: 0,
        }
    }

    /// A named shape, `t16`, `s16`, `b16`, `t14`, `s14`, `b14`, `b32` (tiny 192 × 12 layers × 3
    /// heads, small 384 × 12 × 6, base 768 × 12 × 12; then the patch size), or an explicit
    /// `HIDDENxLAYERSxHEADS/PATCH` such as `32x2x4/8`; at 224 px.
    pub fn from_variant(flavor: VitFlavor, variant: &str, head_dim: usize) -> Result<Self> {
        let bad = || {
            ModelError::InvalidConfig(format!(
                "vision transformer variant `{variant}`: expected t16, s16, b16, t14, s14, b14, b32 or HIDDENxLAYERSxHEADS/PATCH"
            ))
        };
        let v = variant.trim().to_ascii_lowercase();
        let (hidden, layers, heads, patch) = if let Some((dims, patch)) = v.split_once('/') {
            let dims: Vec<usize> = dims
                .split('x')
                .map(|d| d.parse::<usize>().map_err(|_| bad()))
                .collect::<Result<_>>()?;
            let [h, l, a] = dims[..] else {
                return Err(bad());
            };
            (h, l, a, patch.parse::<usize>().map_err(|_| bad())?)
        } else {
            let (size, patch) = v.split_at(v.len().min(1));
            let patch = patch.parse::<usize>().map_err(|_| bad())?;
            match size {
                "t" => (192, 12, 3, patch),
                "s" => (384, 12, 6, patch),
                "b" => (768, 12, 12, patch),
                _ => return Err(bad()),
            }
        };
        let mut config = Self::sized(flavor, hidden, layers, heads, patch, head_dim);
        config.input_size = 224 / patch * patch;
        config.encoder.image_size = config.input_size;
        config.validate()?;
        Ok(config)
    }

    /// CLIP ViT-B/32's image tower (candle-transformers' preset).
    pub fn clip_b32(head_dim: usize) -> Self {
        Self::from_clip(&ClipVisionConfig::vit_base_patch32(), head_dim)
    }

    fn from_clip(c: &ClipVisionConfig, head_dim: usize) -> Self {
        let mut config = Self::sized(
            VitFlavor::ClipVision,
            c.embed_dim,
            c.num_hidden_layers,
            c.num_attention_heads,
            c.patch_size,
            head_dim,
        );
        config.encoder.intermediate_size = c.intermediate_size;
        config.encoder.image_size = c.image_size;
        config.input_size = c.image_size;
        config
    }

    /// Reads the sizes from a Hugging Face `config.json` of the flavor (a full CLIP config's
    /// `vision_config` section is used); the input size is the config's image size, except for
    /// DINOv2, whose image processor crops to 224 px (the 518 px positions are resampled).
    pub fn from_file(path: &Path, flavor: VitFlavor, head_dim: usize) -> Result<Self> {
        let bad = |reason: String| ModelError::WeightFile {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let v = match (flavor, json.get("vision_config")) {
            (VitFlavor::ClipVision, Some(vision)) => vision.clone(),
            _ => json,
        };
        let hidden = get_usize(&v, "hidden_size", path)?;
        let intermediate = match flavor {
            VitFlavor::Dinov2 => {
                let ratio = v.get("mlp_ratio").and_then(Value::as_f64).unwrap_or(4.0);
                if v.get("use_swiglu_ffn").and_then(Value::as_bool) == Some(true) {
                    return Err(bad(
                        "DINOv2 with a SwiGLU MLP (giant) is not supported".into()
                    ));
                }
                (hidden as f64 * ratio).round() as usize
            }
            _ => get_usize(&v, "intermediate_size", path)?,
        };
        let activation = match v.get("hidden_act").and_then(Value::as_str) {
            None => default_activation(flavor),
            Some("gelu") => Activation::Gelu,
            Some("gelu_new" | "gelu_pytorch_tanh") => Activation::GeluTanh,
            Some("quick_gelu") => Activation::QuickGelu,
            Some("relu") => Activation::Relu,
            Some(other) => return Err(bad(format!("hidden_act `{other}` is not supported"))),
        };
        let image_size = get_usize(&v, "image_size", path)?;
        let patch_size = get_usize(&v, "patch_size", path)?;
        let mut config = Self::sized(
            flavor,
            hidden,
            get_usize(&v, "num_hidden_layers", path)?,
            get_usize(&v, "num_attention_heads", path)?,
            patch_size,
            head_dim,
        );
        config.encoder.intermediate_size = intermediate;
        config.encoder.image_size = image_size;
        config.encoder.num_channels = v
            .get("num_channels")
            .and_then(Value::as_u64)
            .map_or(3, |c| c as usize);
        if let Some(eps) = v.get("layer_norm_eps").and_then(Value::as_f64) {
            config.encoder.layer_norm_eps = eps;
        }
        if let Some(bias) = v.get("qkv_bias").and_then(Value::as_bool) {
            config.encoder.qkv_bias = bias;
        }
        config.activation = activation;
        config.input_size = match flavor {
            VitFlavor::Dinov2 => 224 / patch_size * patch_size,
            _ => image_size,
        };
        config.validate()?;
        Ok(config)
    }

    /// Patches per side of the input.
    pub fn grid(&self) -> usize {
        self.input_size / self.encoder.patch_size
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<()> {
        let e = &self.encoder;
        let fail = |m: String| Err(ModelError::InvalidConfig(m));
        if e.hidden_size == 0 || e.num_hidden_layers == 0 || e.intermediate_size == 0 {
            return fail(format!(
                "{}: hidden size, layers and MLP width must be positive",
                self.flavor.name()
            ));
        }
        if e.num_attention_heads == 0 || e.hidden_size % e.num_attention_heads != 0 {
            return fail(format!(
                "{}: hidden size {} is not a multiple of {} heads",
                self.flavor.name(),
                e.hidden_size,
                e.num_attention_heads
            ));
        }
        if e.num_channels != 3 {
            return fail(format!(
                "{}: {} input channels (3 expected)",
                self.flavor.name(),
                e.num_channels
            ));
        }
        if e.patch_size == 0 || self.input_size == 0 || self.input_size % e.patch_size != 0 {
            return fail(format!(
                "{}: input size {} px is not a positive multiple of the patch size {}",
                self.flavor.name(),
                self.input_size,
                e.patch_size
            ));
        }
        if self.head_dim == 0 {
            return fail(format!(
                "{}: the head dimension must be positive",
                self.flavor.name()
            ));
        }
        Ok(())
    }
}

fn default_activation(flavor: VitFlavor) -> Activation {
    match flavor {
        VitFlavor::ClipVision => Activation::QuickGelu,
        _ => Activation::Gelu,
    }
}
