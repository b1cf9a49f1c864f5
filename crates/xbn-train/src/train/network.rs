//! Building the backbone of a configuration, loading pretrained weights, and saving or
//! restoring every model tensor (parameters and BatchNorm buffers) in a checkpoint.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use crate::config::{Backbone as BackboneKind, TrainConfig};
use crate::error::{Result, TrainError};
use xbn_nn::model::{
    Backbone, BatchNormMode, HubOptions, LoadOptions, ResNet, ResNetConfig, SmallCnn,
    SmallCnnConfig, WeightSource, load_weights, resolve_weights,
};

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
pub fn build_backbone(
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
                pooling: cfg.model.pooling.into(),
                ..SmallCnnConfig::default()
            };
            Box::new(SmallCnn::new(&c, DType::F32, device)?)
        }
        BackboneKind::Resnet50 => {
            let c = ResNetConfig {
                input_size: cfg.data.image_size,
                bn_mode,
                seed: cfg.run.seed,
                pooling: cfg.model.pooling.into(),
                ..ResNetConfig::resnet50(cfg.model.embedding_dim)
            };
            Box::new(ResNet::new(&c, DType::F32, device)?)
        }
    };
    if let Some(path) = weights {
        let report = load_weights(backbone.as_ref(), path, &LoadOptions::pretrained())?;
        tracing::info!(
            "loaded {} tensors from {} ({} missing, {} ignored)",
            report.loaded.len(),
            path.display(),
            report.missing.len(),
            report.ignored.len()
        );
    }
    Ok(backbone)
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
