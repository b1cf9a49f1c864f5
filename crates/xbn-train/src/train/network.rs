//! Building the backbone of a configuration, loading pretrained weights, and saving or
//! restoring every model tensor (parameters and BatchNorm buffers) in a checkpoint.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use xbn_data::text::TextTokenizer;

use crate::config::{Backbone as BackboneKind, TrainConfig};
use crate::error::{Result, TrainError};
use xbn_nn::model::{
    Backbone, BatchNormMode, BertConfig, BertEncoder, HubOptions, LoadOptions, ResNet,
    ResNetConfig, SentenceLayout, SmallCnn, SmallCnnConfig, VisionTransformer, VitConfig,
    VitFlavor, WeightSource, load_weights, resolve_weights,
};

/// The network of a configuration, and for text backbones the tokenizer of its checkpoint.
pub struct Model {
    /// The network.
    pub backbone: Box<dyn Backbone>,
    /// The tokenizer (text backbones only), truncating to the configured length.
    pub tokenizer: Option<Arc<TextTokenizer>>,
}

/// Builds the model of `cfg` on `device`: randomly initialized from `run.seed`, then, with
/// `pretrained`, overwritten by `model.weights` (resolved before anything else, so missing
/// weights offline are reported at once). Without `pretrained` the caller restores a
/// checkpoint's model (resume, `embed`, `eval`). A text backbone always reads its checkpoint
/// folder's `config.json` and `tokenizer.json`.
pub fn build_model(cfg: &TrainConfig, pretrained: bool, device: &Device) -> Result<Model> {
    if !cfg.model.backbone.is_transformer() {
        let weights = if pretrained {
            resolve_configured_weights(cfg)?
        } else {
            None
        };
        return Ok(Model {
            backbone: build_backbone(cfg, weights.as_deref(), device)?,
            tokenizer: None,
        });
    }
    let mut hub = HubOptions::from_env();
    hub.offline |= cfg.model.offline;
    if let Some(flavor) = cfg.model.backbone.vit_flavor() {
        return Ok(Model {
            backbone: Box::new(build_vision(cfg, flavor, &hub, pretrained, device)?),
            tokenizer: None,
        });
    }
    let layout = SentenceLayout::resolve(cfg.model.weights.trim(), &hub)?;
    let mut config = BertConfig::from_file(&layout.config)?;
    config.seed = cfg.run.seed;
    config.head_dim = Some(cfg.model.embedding_dim).filter(|&d| d > 0);
    config.pooling = cfg.model.pooling.for_text(layout.pooling).ok_or_else(|| {
        TrainError::Config(format!(
            "model.pooling = {:?} does not apply to text backbones (auto, avg or cls)",
            cfg.model.pooling
        ))
    })?;
    let positions = config.encoder.max_position_embeddings;
    let max_length = match cfg.model.max_length {
        0 => layout.max_seq_length.unwrap_or(positions),
        n => n,
    };
    if max_length > positions {
        return Err(TrainError::Config(format!(
            "model.max_length = {max_length} exceeds the {positions} positions of {}",
            layout.config.display()
        )));
    }
    let tokenizer = TextTokenizer::from_file(&layout.tokenizer, max_length)?;
    let backbone = BertEncoder::new(&config, DType::F32, device)?;
    match (&layout.weights, pretrained) {
        (Some(path), true) => {
            let report = load_weights(&backbone, path, &LoadOptions::pretrained_bert())?;
            log_load(&report, path);
        }
        (None, true) => tracing::warn!(
            "{} has no model.safetensors: the text encoder starts from random weights",
            layout.dir.display()
        ),
        (_, false) => {}
    }
    tracing::info!(
        "text encoder {}: {} layers, hidden {}, {:?} pooling, head {}, max_length {max_length}",
        layout.dir.display(),
        config.encoder.num_hidden_layers,
        config.encoder.hidden_size,
        config.pooling,
        config
            .head_dim
            .map_or("none".to_string(), |d| format!("→ {d}"))
    );
    Ok(Model {
        backbone: Box::new(backbone),
        tokenizer: Some(Arc::new(tokenizer)),
    })
}

/// A vision transformer: its shape from the checkpoint's `config.json` (a folder or `hf:`
/// repository in `model.weights`) unless `model.variant` names one; weights from the
/// checkpoint's `model.safetensors` or a safetensors file, position grids resampled to the
/// input size.
fn build_vision(
    cfg: &TrainConfig,
    flavor: VitFlavor,
    hub: &HubOptions,
    pretrained: bool,
    device: &Device,
) -> Result<VisionTransformer> {
    let spec = cfg.model.weights.trim();
    let source = WeightSource::parse(spec);
    let (config_file, weight_file) = match &source {
        _ if spec.is_empty() => (None, None),
        WeightSource::Hub { .. } => {
            let config = match source.sibling("config.json") {
                Some(s) if cfg.model.variant.trim().is_empty() => Some(resolve_weights(&s, hub)?),
                _ => None,
            };
            let weights = if pretrained {
                Some(resolve_weights(&source, hub)?)
            } else {
                None
            };
            (config, weights)
        }
        WeightSource::File(path) if path.is_dir() => {
            let config = Some(path.join("config.json")).filter(|p| p.is_file());
            (config, Some(path.join("model.safetensors")))
        }
        WeightSource::File(path) => (None, Some(path.clone())),
    };
    let head = cfg.model.embedding_dim;
    let mut config = match (config_file, cfg.model.variant.trim()) {
        (Some(file), "") => VitConfig::from_file(&file, flavor, head)?,
        (_, "") => VitConfig::from_variant(flavor, "s16", head)?,
        (_, variant) => VitConfig::from_variant(flavor, variant, head)?,
    };
    config.seed = cfg.run.seed;
    config.pooling = cfg.model.pooling.for_vit().ok_or_else(|| {
        TrainError::Config(format!(
            "model.pooling = {:?} does not apply to vision transformers (auto, cls or avg)",
            cfg.model.pooling
        ))
    })?;
    if cfg.model.image_size > 0 {
        config.input_size = cfg.model.image_size;
    }
    if let Some(mean) = cfg.model.image_mean {
        config.mean = mean;
    }
    if let Some(std) = cfg.model.image_std {
        config.std = std;
    }
    let vit = VisionTransformer::new(&config, DType::F32, device)?;
    if let (true, Some(path)) = (pretrained, weight_file) {
        let report = vit.load_pretrained(&path, &LoadOptions::pretrained_vit())?;
        log_load(&report, &path);
    }
    let e = &config.encoder;
    tracing::info!(
        "{}: {} layers, hidden {}, {} heads, patch {}, {} px, {:?} pooling, head → {}",
        flavor.name(),
        e.num_hidden_layers,
        e.hidden_size,
        e.num_attention_heads,
        e.patch_size,
        config.input_size,
        config.pooling,
        config.head_dim
    );
    Ok(vit)
}

fn log_load(report: &xbn_nn::model::LoadReport, path: &std::path::Path) {
    tracing::info!(
        "loaded {} tensors from {} ({} missing, {} ignored)",
        report.loaded.len(),
        path.display(),
        report.missing.len(),
        report.ignored.len()
    );
}

/// Resolves `model.weights` to a local file (downloading into the Hugging Face cache unless
/// `model.offline`); `None` when no weights are configured. Called before any work starts so
/// that missing weights offline are reported at once.
pub fn resolve_configured_weights(cfg: &TrainConfig) -> Result<Option<std::path::PathBuf>> {
    if cfg.model.weights.trim().is_empty() {
        return Ok(None);
    }
    let source = WeightSource::parse(cfg.model.weights.trim());
    let mut hub = HubOptions::from_env();
    hub.offline |= cfg.model.offline;
    let path = resolve_weights(&source, &hub)?;
    if !path.is_file() {
        return Err(TrainError::Config(format!(
            "model.weights: `{}` is not a file",
            path.display()
        )));
    }
    Ok(Some(path))
}

/// The backbone of `cfg` on `device`, randomly initialized from `run.seed`, then overwritten
/// by the weights file when one is given.
fn build_backbone(
    cfg: &TrainConfig,
    weights: Option<&std::path::Path>,
    device: &Device,
) -> Result<Box<dyn Backbone>> {
    let bn_mode = if cfg.model.freeze_bn {
        BatchNormMode::Frozen {
            freeze_affine: true,
        }
    } else {
        BatchNormMode::Trained
    };
    let backbone: Box<dyn Backbone> = match cfg.model.backbone {
        BackboneKind::SmallCnn => {
            let c = SmallCnnConfig {
                channels: cfg.model.channels.clone(),
                embedding_dim: cfg.model.embedding_dim,
                input_size: cfg.data.image_size,
                bn_mode,
                seed: cfg.run.seed,
                pooling: cnn_pooling(cfg)?,
                ..SmallCnnConfig::default()
            };
            Box::new(SmallCnn::new(&c, DType::F32, device)?)
        }
        BackboneKind::Bert
        | BackboneKind::Vit
        | BackboneKind::Dinov2
        | BackboneKind::ClipVision => {
            return Err(TrainError::Config(
                "transformer backbones are built by build_model".into(),
            ));
        }
        BackboneKind::Resnet50 => {
            let c = ResNetConfig {
                input_size: cfg.data.image_size,
                bn_mode,
                seed: cfg.run.seed,
                pooling: cnn_pooling(cfg)?,
                ..ResNetConfig::resnet50(cfg.model.embedding_dim)
            };
            Box::new(ResNet::new(&c, DType::F32, device)?)
        }
    };
    if let Some(path) = weights {
        let report = load_weights(backbone.as_ref(), path, &LoadOptions::pretrained())?;
        log_load(&report, path);
    }
    Ok(backbone)
}

fn cnn_pooling(cfg: &TrainConfig) -> Result<xbn_nn::model::Pooling> {
    cfg.model.pooling.for_cnn().ok_or_else(|| {
        TrainError::Config(format!(
            "model.pooling = {:?} needs a transformer backbone",
            cfg.model.pooling
        ))
    })
}

/// Every model tensor (parameters and buffers) by name.
pub fn model_state(backbone: &dyn Backbone) -> HashMap<String, Tensor> {
    backbone
        .roles()
        .iter()
        .map(|(name, _, var)| (name.to_string(), var.as_tensor().clone()))
        .collect()
}

/// Restores every model tensor from `state`; a missing tensor or a shape mismatch is an error
/// and leaves the model unchanged.
pub fn load_model_state(backbone: &dyn Backbone, state: &HashMap<String, Tensor>) -> Result<()> {
    let mut updates = Vec::new();
    for (name, _, var) in backbone.roles().iter() {
        let mismatch = |saved: Option<&[usize]>| TrainError::ModelState {
            tensor: name.to_string(),
            model: var.dims().to_vec(),
            saved: saved.map(<[usize]>::to_vec),
        };
        let t = state.get(name).ok_or_else(|| mismatch(None))?;
        if t.dims() != var.dims() {
            return Err(mismatch(Some(t.dims())));
        }
        updates.push((var, t.to_device(var.device())?.to_dtype(var.dtype())?));
    }
    for (var, t) in updates {
        var.set(&t)?;
    }
    Ok(())
}
