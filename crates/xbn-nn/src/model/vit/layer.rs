//! One pre-norm encoder layer of a vision transformer.

use candle_core::{Tensor, Var};

use super::super::error::Result;
use super::super::inference::param;
use super::super::params::{ParamRole, ParamStore};
use super::super::transformer::{AttentionNames, FeedForward, LayerNorm, SelfAttention};
use super::config::{VitConfig, VitFlavor};

/// `X ← X + γ₁ ⊙ MHA(LN₁(X))`, `X ← X + γ₂ ⊙ FFN(LN₂(X))`; the layer scales `γ` (DINOv2's
/// `layer_scale{1,2}.lambda1`) are 1 for the other flavors.
#[derive(Debug, Clone)]
pub struct VitLayer {
    norm1: LayerNorm,
    attention: SelfAttention,
    scale1: Option<Var>,
    norm2: LayerNorm,
    feed_forward: FeedForward,
    scale2: Option<Var>,
}

/// Weight names of layer `i`: (norm1, attention, norm2, FFN up, FFN down, layer-scale prefix).
fn names(flavor: VitFlavor, i: usize) -> (String, AttentionNames, String, String, String) {
    match flavor {
        VitFlavor::Vit | VitFlavor::Dinov2 => {
            let p = format!("encoder.layer.{i}");
            let attention = AttentionNames {
                query: format!("{p}.attention.attention.query"),
                key: format!("{p}.attention.attention.key"),
                value: format!("{p}.attention.attention.value"),
                output: format!("{p}.attention.output.dense"),
            };
            if flavor == VitFlavor::Vit {
                (
                    format!("{p}.layernorm_before"),
                    attention,
                    format!("{p}.layernorm_after"),
                    format!("{p}.intermediate.dense"),
                    format!("{p}.output.dense"),
                )
            } else {
                (
                    format!("{p}.norm1"),
                    attention,
                    format!("{p}.norm2"),
                    format!("{p}.mlp.fc1"),
                    format!("{p}.mlp.fc2"),
                )
            }
        }
        VitFlavor::ClipVision => {
            let p = format!("encoder.layers.{i}");
            (
                format!("{p}.layer_norm1"),
                AttentionNames {
                    query: format!("{p}.self_attn.q_proj"),
                    key: format!("{p}.self_attn.k_proj"),
                    value: format!("{p}.self_attn.v_proj"),
                    output: format!("{p}.self_attn.out_proj"),
                },
                format!("{p}.layer_norm2"),
                format!("{p}.mlp.fc1"),
                format!("{p}.mlp.fc2"),
            )
        }
    }
}

impl VitLayer {
    /// Fresh layer `index`, initialized as the Hugging Face model initializes it: ViT and
    /// DINOv2 weights `N(0, 0.02²)` (layer scales 1); CLIP's `_init_weights` scales, query, key,
    /// value and second MLP map `N(0, (D·2L)^−1)`, output projection `N(0, 1/D)`, first MLP map
    /// `N(0, 1/(2D))`.
    pub fn new(store: &mut ParamStore, config: &VitConfig, index: usize) -> Result<Self> {
        let e = &config.encoder;
        let (d, eps) = (e.hidden_size, e.layer_norm_eps);
        let (attention_std, mlp_std) = if config.flavor == VitFlavor::ClipVision {
            let d = d as f64;
            let inner = (d * 2.0 * e.num_hidden_layers as f64).powf(-0.5);
            ((inner, d.powf(-0.5)), ((2.0 * d).powf(-0.5), inner))
        } else {
            ((0.02, 0.02), (0.02, 0.02))
        };
        let (n1, attention, n2, up, down) = names(config.flavor, index);
        let mut scale = |k: usize| -> Result<Option<Var>> {
            if config.flavor != VitFlavor::Dinov2 {
                return Ok(None);
            }
            let name = format!("encoder.layer.{index}.layer_scale{k}.lambda1");
            Ok(Some(store.constant(
                &name,
                &[d],
                1.0,
                ParamRole::Backbone,
            )?))
        };
        let scale1 = scale(1)?;
        let scale2 = scale(2)?;
        Ok(Self {
            norm1: LayerNorm::new(store, &n1, d, eps)?,
            attention: SelfAttention::new(
                store,
                &attention,
                d,
                e.num_attention_heads,
                attention_std,
            )?,
            scale1,
            norm2: LayerNorm::new(store, &n2, d, eps)?,
            feed_forward: FeedForward::new(
                store,
                (&up, &down),
                d,
                e.intermediate_size,
                config.activation,
                mlp_std,
            )?,
            scale2,
        })
    }

    /// Runs the layer on tokens `(N, T, D)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let scaled = |y: Tensor, s: &Option<Var>| -> Result<Tensor> {
            Ok(match s {
                Some(s) => y.broadcast_mul(&param(s))?,
                None => y,
            })
        };
        let a = scaled(
            self.attention.forward(&self.norm1.forward(x)?, None)?,
            &self.scale1,
        )?;
        let x = (x + a)?;
        let f = scaled(
            self.feed_forward.forward(&self.norm2.forward(&x)?)?,
            &self.scale2,
        )?;
        Ok((x + f)?)
    }
}
