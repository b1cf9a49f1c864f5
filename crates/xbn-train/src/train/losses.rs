//! Choosing the pair-based loss `ℓ` of xbn-losses by name.

use xbn_losses::{
    CircleLoss, MetricLoss, MultiSimilarityLoss, NtXentLoss, TripletMarginLoss, XbmContrastiveLoss,
};

use crate::config::LossConfig;
use crate::error::{Result, TrainError};

/// Loss names accepted in `loss.name`.
pub const LOSS_NAMES: [&str; 5] = [
    "contrastive",
    "triplet",
    "multi-similarity",
    "circle",
    "ntxent",
];

/// The loss named in `cfg` with its defaults (XBM's contrastive loss takes `loss.margin` as
/// its negative margin `λ`; the triplet loss takes it as its margin).
pub fn build_loss(cfg: &LossConfig) -> Result<Box<dyn MetricLoss>> {
    Ok(match cfg.name.as_str() {
        "contrastive" => Box::new(XbmContrastiveLoss {
            lambda: cfg.margin,
            ..XbmContrastiveLoss::default()
        }),
        "triplet" => Box::new(TripletMarginLoss {
            margin: cfg.margin,
            ..TripletMarginLoss::default()
        }),
        "multi-similarity" => Box::new(MultiSimilarityLoss::default()),
        "circle" => Box::new(CircleLoss::default()),
        "ntxent" => Box::new(NtXentLoss::default()),
        other => {
            return Err(TrainError::Config(format!(
                "loss.name = `{other}`: expected one of {}",
                LOSS_NAMES.join(", ")
            )));
        }
    })
}
