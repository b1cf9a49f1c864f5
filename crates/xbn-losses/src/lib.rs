//! # xbn-losses
//!
//! Pair-based ranking losses over anchors and references — contrastive (XBM's and PML's form),
//! triplet margin (all, batch-hard, semi-hard), multi-similarity (+ miner), circle, supervised
//! NT-Xent, proxy-anchor — matched against pytorch-metric-learning (PML), and [`XbmLoss`], the
//! cross-batch-memory objective `L_t = ℓ(Z_t, Z_t) + w · ℓ(Z_t, M̂_t)` of
//! arXiv 2303.17127 / XBM (CVPR 2020).
//!
//! Every loss computes one `(b × m)` matrix `S` (one matmul) and 0/1 masks of positive and
//! negative pairs, so a memory of `m = 65 536` references costs `O(b·m)` memory.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use xbn_losses::{MetricLoss, MultiSimilarityLoss, RefSet};
//!
//! let dev = Device::Cpu;
//! let z = Tensor::new(&[[1.0f32, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], &dev).unwrap();
//! let y = Tensor::new(&[0u32, 0, 1, 1], &dev).unwrap();
//! let loss = MultiSimilarityLoss::default().forward(&z, &y, &z, &y, RefSet::SameAsAnchors).unwrap();
//! assert!(loss.to_scalar::<f32>().unwrap() >= 0.0);
//! ```

mod circle;
mod const_matmul;
mod contrastive;
mod distance;
mod elementwise;
mod error;
mod loss;
mod ms_miner;
mod multi_similarity;
mod ntxent;
mod ops;
mod pairs;
mod proxy_anchor;
mod reduction;
mod snap;
mod softplus;
mod triplet;
mod xbm;
mod xbm_contrastive;
mod xbm_contrastive_fused;

pub use circle::CircleLoss;
pub use contrastive::ContrastiveLoss;
pub use distance::{Distance, Refs};
pub use error::{LossError, Result};
pub use loss::MetricLoss;
pub use ms_miner::MultiSimilarityMiner;
pub use multi_similarity::MultiSimilarityLoss;
pub use ntxent::NtXentLoss;
pub use pairs::{PairInput, Pairs, RefSet};
pub use proxy_anchor::ProxyAnchorLoss;
pub use reduction::Reduction;
pub use triplet::{MAX_TRIPLET_ELEMENTS, TripletMarginLoss, TripletMining};
pub use xbm::{XbmLoss, XbmTerms};
pub use xbm_contrastive::XbmContrastiveLoss;
