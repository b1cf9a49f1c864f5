//! Choosing the pair-based loss `ℓ` of xbn-losses by name.

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use xbn_losses::{
    CircleLoss, ContrastiveLoss, MetricLoss, MultiSimilarityLoss, NtXentLoss, ProxyAnchorLoss,
    TripletMarginLoss, XbmContrastiveLoss,
};

use crate::config::LossConfig;

/// The name `xbm-contrastive` had before both contrastive forms could be chosen; still accepted,
/// with a warning.
pub const OLD_CONTRASTIVE: &str = "contrastive";
use crate::error::{Result, TrainError};

/// Loss names accepted in `loss.name` (plus the deprecated [`OLD_CONTRASTIVE`]).
pub const LOSS_NAMES: [&str; 7] = [
    "xbm-contrastive",
    "pml-contrastive",
    "triplet",
    "multi-similarity",
    "circle",
    "ntxent",
    "proxy-anchor",
];

/// What proxy-based losses need to know: classes, embedding dimension, seed and device.
#[derive(Debug, Clone)]
pub struct LossContext {
    /// Number of training labels `C` (labels are `0..C`).
    pub num_classes: usize,
    /// Embedding dimension `d`.
    pub dim: usize,
    /// Seed of the proxies' initialization.
    pub seed: u64,
    /// Device of the proxies.
    pub device: Device,
}

/// `(C × d)` proxies drawn from `N(0, 2/C)` (PML's initialization) with a seeded generator.
fn seeded_proxies(ctx: &LossContext) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    let std = (2.0 / ctx.num_classes.max(1) as f64).sqrt();
    let n = ctx.num_classes * ctx.dim;
    let normal = Normal::new(0.0, std)
        .map_err(|e| TrainError::Config(format!("proxy initialization N(0, {std}²): {e}")))?;
    let values: Vec<f32> = (0..n).map(|_| normal.sample(&mut rng) as f32).collect();
    Ok(Tensor::from_vec(
        values,
        (ctx.num_classes, ctx.dim),
        &ctx.device,
    )?)
}

/// The loss named in `cfg` with its defaults (XBM's contrastive loss takes `loss.margin` as
/// its negative margin `λ`; the triplet loss takes it as its margin; proxy-anchor's proxies are
/// seeded from `ctx.seed`).
pub fn build_loss(cfg: &LossConfig, ctx: &LossContext) -> Result<Box<dyn MetricLoss>> {
    if cfg.name == OLD_CONTRASTIVE {
        tracing::warn!(
            "loss.name = `contrastive` is deprecated: it builds XBM's contrastive loss, now named \
             `xbm-contrastive`; pytorch-metric-learning's ContrastiveLoss is `pml-contrastive`"
        );
    }
    Ok(match cfg.name.as_str() {
        "xbm-contrastive" | OLD_CONTRASTIVE => Box::new(XbmContrastiveLoss {
            lambda: cfg.margin,
            ..XbmContrastiveLoss::default()
        }),
        "pml-contrastive" => Box::new(ContrastiveLoss {
            neg_margin: cfg.margin,
            ..ContrastiveLoss::default()
        }),
        "triplet" => Box::new(TripletMarginLoss {
            margin: cfg.margin,
            ..TripletMarginLoss::default()
        }),
        "multi-similarity" => Box::new(MultiSimilarityLoss::default()),
        "circle" => Box::new(CircleLoss::default()),
        "ntxent" => Box::new(NtXentLoss::default()),
        "proxy-anchor" => Box::new(ProxyAnchorLoss::with_proxies(seeded_proxies(ctx)?)?),
        other => {
            return Err(TrainError::Config(format!(
                "loss.name = `{other}`: expected one of {}",
                LOSS_NAMES.join(", ")
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(name: &str) -> Result<Box<dyn MetricLoss>> {
        let cfg = LossConfig {
            name: name.into(),
            ..LossConfig::default()
        };
        let ctx = LossContext {
            num_classes: 4,
            dim: 8,
            seed: 0,
            device: Device::Cpu,
        };
        build_loss(&cfg, &ctx)
    }

    #[test]
    fn both_contrastive_forms_by_name_and_the_old_name_still_builds_xbms() {
        assert_eq!(build("xbm-contrastive").unwrap().name(), "xbm_contrastive");
        assert_eq!(build(OLD_CONTRASTIVE).unwrap().name(), "xbm_contrastive");
        assert_eq!(build("pml-contrastive").unwrap().name(), "contrastive");
        for name in LOSS_NAMES {
            assert!(build(name).is_ok(), "{name}");
        }
        let err = build("contrastiv")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("xbm-contrastive") && err.contains("pml-contrastive"),
            "{err}"
        );
    }
}
