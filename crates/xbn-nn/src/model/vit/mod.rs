//! Vision transformers for images: ViT (Dosovitskiy et al.), DINOv2 and CLIP's image tower,
//! trainable, under the Hugging Face checkpoints' weight names.
//!
//! `z = normalize(head(pool(ViT(x))))`: the image is cut into `p × p` patches, each projected
//! to `D` features; a class token is prepended and position embeddings added; pre-norm encoder
//! layers `X ← X + γ₁·MHA(LN₁(X))`, `X ← X + γ₂·FFN(LN₂(X))` (layer scale `γ` for DINOv2, 1
//! otherwise) follow; the class token or the mean of the patch tokens is pooled (after the final
//! norm), mapped by a linear head and L2-normalized.
//!
//! Reused from candle-transformers: ViT's [`Config`](candle_transformers::models::vit::Config)
//! (read from `config.json`; DINOv2's and CLIP's configs are mapped onto it) and CLIP's
//! [`ClipVisionConfig`](candle_transformers::models::clip::vision_model::ClipVisionConfig)
//! presets. Ours: every module. candle-transformers' ViT and CLIP run candle-nn's fused
//! `LayerNorm` (no backward) and its ViT the backward-less `softmax_last_dim`; its DINOv2
//! concatenates the query, key and value weights once at construction (an optimizer's update of
//! the `Var`s would never reach the forward again) and reads timm's names, not the Hub's
//! `facebook/dinov2-*` files.

mod config;
mod embeddings;
mod encoder;
mod layer;
mod positions;

pub use config::{VitConfig, VitFlavor, VitPooling};
pub use encoder::VisionTransformer;
pub use positions::resample_positions;
