//! The vision transformer as a [`Backbone`].

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

use std::path::Path;

use super::super::error::{ModelError, Result};
use super::super::head::EmbeddingHead;
use super::super::params::{ParamGroups, ParamRoles, ParamStore};
use super::super::transformer::LayerNorm;
use super::super::weights::{LoadOptions, LoadReport, load_tensors, read_weight_file};
use super::super::{Backbone, ImageSpec, Input, InputSpec, check_images};
use super::config::{VitConfig, VitFlavor, VitPooling};
use super::embeddings::{VitEmbeddings, names};
use super::layer::VitLayer;
use super::positions::resample_positions;

/// A trainable ViT, DINOv2 or CLIP image tower (see the [module docs](super)).
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use xbn_nn::model::{Backbone, VisionTransformer, VitConfig, VitFlavor};
///
/// let mut config = VitConfig::sized(VitFlavor::Dinov2, 16, 2, 2, 8, 12);
/// config.input_size = 32;
/// let vit = VisionTransformer::new(&config, DType::F32, &Device::Cpu)?;
/// let images = Tensor::zeros((2, 3, 32, 32), DType::F32, &Device::Cpu)?;
/// assert_eq!(vit.forward(&images.into(), false)?.dims(), &[2, 12]);
/// # Ok::<(), xbn_nn::model::ModelError>(())
/// ```
pub struct VisionTransformer {
    embeddings: VitEmbeddings,
    pre_norm: Option<LayerNorm>,
    layers: Vec<VitLayer>,
    final_norm: LayerNorm,
    head: EmbeddingHead,
    config: VitConfig,
    varmap: VarMap,
    roles: ParamRoles,
}

impl VisionTransformer {
    /// A randomly initialized transformer (weights `N(0, 0.02²)`, norms 1 and 0, layer scales
    /// 1), seeded with `config.seed`.
    pub fn new(config: &VitConfig, dtype: DType, device: &Device) -> Result<Self> {
        config.validate()?;
        let e = &config.encoder;
        let (d, eps) = (e.hidden_size, e.layer_norm_eps);
        let mut store = ParamStore::new(config.seed, dtype, device);
        let embeddings = VitEmbeddings::new(&mut store, config)?;
        let clip = config.flavor == VitFlavor::ClipVision;
        let pre_norm = if clip {
            Some(LayerNorm::new(&mut store, "pre_layrnorm", d, eps)?)
        } else {
            None
        };
        let layers = (0..e.num_hidden_layers)
            .map(|i| VitLayer::new(&mut store, config, i))
            .collect::<Result<Vec<_>>>()?;
        let final_name = if clip { "post_layernorm" } else { "layernorm" };
        let final_norm = LayerNorm::new(&mut store, final_name, d, eps)?;
        let head = EmbeddingHead::new(&mut store, "head", d, config.head_dim)?;
        let (varmap, roles) = store.finish();
        Ok(Self {
            embeddings,
            pre_norm,
            layers,
            final_norm,
            head,
            config: config.clone(),
            varmap,
            roles,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &VitConfig {
        &self.config
    }

    /// The tokens after the last layer, `(N, 1 + g², D)`: after the final norm for ViT and
    /// DINOv2 (Hugging Face's `last_hidden_state`), before it for CLIP (whose final norm applies
    /// to the pooled token only, as in `CLIPVisionModel`).
    pub fn hidden_states(&self, images: &Tensor) -> Result<Tensor> {
        let mut x = self.embeddings.forward(images)?;
        if let Some(norm) = &self.pre_norm {
            x = norm.forward(&x)?;
        }
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        if self.pre_norm.is_none() {
            x = self.final_norm.forward(&x)?;
        }
        Ok(x)
    }

    /// Loads a Hugging Face checkpoint ([`LoadOptions::pretrained_vit`] unless `opts` says
    /// otherwise). Position embeddings trained for another grid (DINOv2's 37 × 37 at 518 px)
    /// are first resampled to this model's grid by [`resample_positions`], the class token's
    /// kept as it is; the report lists them as loaded.
    pub fn load_pretrained(&self, path: &Path, opts: &LoadOptions) -> Result<LoadReport> {
        let mut file = read_weight_file(path)?;
        let (_, _, positions) = names(self.config.flavor);
        let grid = self.config.grid();
        let d = self.config.encoder.hidden_size;
        let keys: Vec<String> = file
            .keys()
            .filter(|k| k.as_str() == positions || k.ends_with(&format!(".{positions}")))
            .cloned()
            .collect();
        for key in keys {
            let t = &file[&key];
            let shape = t.dims().to_vec();
            let tokens = t.elem_count() / d.max(1);
            if tokens == 1 + grid * grid || t.elem_count() != tokens * d {
                continue;
            }
            let from = ((tokens - 1) as f64).sqrt().round() as usize;
            if from * from != tokens - 1 {
                return Err(ModelError::WeightFile {
                    path: path.to_path_buf(),
                    reason: format!(
                        "{key} {shape:?}: {} patch positions are not a square grid",
                        tokens - 1
                    ),
                });
            }
            let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
            let mut out = values[..d].to_vec();
            out.extend(resample_positions(&values[d..], from, grid, d)?);
            let mut new_shape = shape.clone();
            let last = new_shape.len() - 1;
            new_shape[last - 1] = 1 + grid * grid;
            tracing::info!(
                "{key}: position grid {from}×{from} resampled to {grid}×{grid} (bicubic)"
            );
            file.insert(key, Tensor::from_vec(out, new_shape, &Device::Cpu)?);
        }
        load_tensors(self, file, &path.display().to_string(), opts)
    }
}

impl Backbone for VisionTransformer {
    fn name(&self) -> &str {
        self.config.flavor.name()
    }

    fn features(&self, input: &Input, _train: bool) -> Result<Tensor> {
        let images = input.images(self.name())?;
        check_images(images, 3)?;
        let x = self.hidden_states(images)?;
        let pooled = match self.config.pooling {
            VitPooling::Cls => x.narrow(1, 0, 1)?.squeeze(1)?,
            VitPooling::MeanPatches => {
                let patches = x.dim(1)? - 1;
                x.narrow(1, 1, patches)?.mean(1)?
            }
        };
        if self.pre_norm.is_some() {
            return self.final_norm.forward(&pooled);
        }
        Ok(pooled)
    }

    fn head(&self, features: &Tensor) -> Result<Tensor> {
        self.head.forward(features)
    }

    fn embedding_dim(&self) -> usize {
        self.head.out_dim()
    }

    fn feature_dim(&self) -> usize {
        self.config.encoder.hidden_size
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

    /// 0 for the embeddings (and CLIP's first norm), `i + 1` for layer `i`, `layers + 1` for
    /// the final norm; `None` for the head.
    fn layer_depth(&self, name: &str) -> Option<usize> {
        if name.starts_with("head.") {
            return None;
        }
        let layers = self.layers.len();
        let after = |prefix: &str| -> Option<usize> {
            let rest = name.strip_prefix(prefix)?;
            rest.split('.').next()?.parse::<usize>().ok()
        };
        if let Some(i) = after("encoder.layer.").or_else(|| after("encoder.layers.")) {
            return Some(i + 1);
        }
        if name.starts_with("embeddings.") || name.starts_with("pre_layrnorm.") {
            return Some(0);
        }
        Some(layers + 1)
    }

    fn depth(&self) -> usize {
        self.layers.len() + 1
    }
}
