//! Patch, class-token and position embeddings.

use candle_core::{Tensor, Var};

use super::super::error::{ModelError, Result};
use super::super::inference::param;
use super::super::params::{ParamRole, ParamStore};
use super::config::{VitConfig, VitFlavor};

/// `E = [c; P(x) W_pᵀ + b_p] + E_pos`: the `g × g` patches of `x`, flattened in `(C, p, p)`
/// order and projected to `D` features (a `p × p` convolution of stride `p`), after the class
/// token `c`, plus one position embedding per token.
#[derive(Debug, Clone)]
pub struct VitEmbeddings {
    patch_weight: Var,
    patch_bias: Option<Var>,
    cls: Var,
    positions: Var,
    hidden: usize,
    patch: usize,
    grid: usize,
    channels: usize,
}

/// The weight names of a flavor's embeddings: patch projection, class token, positions.
pub(super) fn names(flavor: VitFlavor) -> (&'static str, &'static str, &'static str) {
    match flavor {
        VitFlavor::Vit | VitFlavor::Dinov2 => (
            "embeddings.patch_embeddings.projection",
            "embeddings.cls_token",
            "embeddings.position_embeddings",
        ),
        VitFlavor::ClipVision => (
            "embeddings.patch_embedding",
            "embeddings.class_embedding",
            "embeddings.position_embedding.weight",
        ),
    }
}

impl VitEmbeddings {
    /// Fresh embeddings: `N(0, 0.02²)`, except CLIP's class embedding, `N(0, 1/D)` (as Hugging
    /// Face initializes them).
    pub fn new(store: &mut ParamStore, config: &VitConfig) -> Result<Self> {
        let e = &config.encoder;
        let (d, p, c) = (e.hidden_size, e.patch_size, e.num_channels);
        let grid = config.grid();
        let tokens = 1 + grid * grid;
        let (patch, cls, positions) = names(config.flavor);
        let role = ParamRole::Backbone;
        let clip = config.flavor == VitFlavor::ClipVision;
        let patch_weight = store.normal(&format!("{patch}.weight"), &[d, c, p, p], 0.02, role)?;
        let patch_bias = if clip {
            None
        } else {
            Some(store.constant(&format!("{patch}.bias"), &[d], 0.0, role)?)
        };
        let cls_shape: &[usize] = if clip { &[d] } else { &[1, 1, d] };
        let pos_shape: &[usize] = if clip { &[tokens, d] } else { &[1, tokens, d] };
        Ok(Self {
            patch_weight,
            patch_bias,
            cls: store.normal(
                cls,
                cls_shape,
                if clip { (d as f64).powf(-0.5) } else { 0.02 },
                role,
            )?,
            positions: store.normal(positions, pos_shape, 0.02, role)?,
            hidden: d,
            patch: p,
            grid,
            channels: c,
        })
    }

    /// Embeds images `(N, C, H, W)` (`H = W = g·p`) into tokens `(N, 1 + g², D)`.
    pub fn forward(&self, images: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = images.dims4()?;
        let side = self.grid * self.patch;
        if c != self.channels || h != side || w != side {
            return Err(ModelError::BadInput {
                what: "images",
                expected: format!("(N, {}, {side}, {side})", self.channels),
                shape: images.dims().to_vec(),
            });
        }
        let (g, p) = (self.grid, self.patch);
        let patches = images
            .reshape((n, c, g, p, g, p))?
            .permute((0, 2, 4, 1, 3, 5))?
            .contiguous()?
            .reshape((n * g * g, c * p * p))?;
        let weight = param(&self.patch_weight).reshape((self.hidden, c * p * p))?;
        let mut x = patches.matmul(&weight.t()?)?;
        if let Some(b) = &self.patch_bias {
            x = x.broadcast_add(&param(b))?;
        }
        let x = x.reshape((n, g * g, self.hidden))?;
        let cls = param(&self.cls)
            .reshape((1, 1, self.hidden))?
            .broadcast_as((n, 1, self.hidden))?;
        let tokens = Tensor::cat(&[&cls, &x], 1)?;
        let positions = param(&self.positions).reshape((1, 1 + g * g, self.hidden))?;
        Ok(tokens.broadcast_add(&positions)?)
    }
}
