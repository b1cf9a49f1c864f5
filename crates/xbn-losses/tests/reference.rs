//! Every loss against pytorch-metric-learning on the committed reference data
//! (`reference/gen_loss_reference.py`): value and gradient w.r.t. the anchors, 1e-4 relative.

mod common;

use common::{check, check_proxy};
use xbn_losses::{
    CircleLoss, ContrastiveLoss, Distance, MultiSimilarityLoss, MultiSimilarityMiner, NtXentLoss,
    Reduction, TripletMarginLoss, TripletMining, XbmContrastiveLoss,
};

#[test]
fn contrastive_pml_default() {
    check(
        "contrastive_pml.safetensors",
        &ContrastiveLoss::default(),
        false,
    );
}

#[test]
fn contrastive_pml_cosine_mean() {
    let loss = ContrastiveLoss::new(0.8, 0.3)
        .with_distance(Distance::Cosine)
        .with_reduction(Reduction::Mean);
    check("contrastive_pml_cosine_mean.safetensors", &loss, false);
}

#[test]
fn xbm_contrastive() {
    check(
        "xbm_contrastive.safetensors",
        &XbmContrastiveLoss::default(),
        false,
    );
    let sum = XbmContrastiveLoss {
        reduction: Reduction::Sum,
        ..XbmContrastiveLoss::default()
    };
    check("xbm_contrastive.safetensors", &sum, true);
}

#[test]
fn triplet_all() {
    check(
        "triplet_all.safetensors",
        &TripletMarginLoss::new(0.2, TripletMining::All),
        false,
    );
    let cos = TripletMarginLoss::new(0.1, TripletMining::All).with_distance(Distance::Cosine);
    check("triplet_all_cosine.safetensors", &cos, false);
}

#[test]
fn triplet_batch_hard() {
    let loss = TripletMarginLoss::new(0.2, TripletMining::BatchHard);
    check("triplet_batch_hard.safetensors", &loss, false);
}

#[test]
fn triplet_semi_hard() {
    let loss = TripletMarginLoss::new(0.5, TripletMining::SemiHard);
    check("triplet_semihard.safetensors", &loss, false);
}

#[test]
fn multi_similarity() {
    check(
        "multi_similarity.safetensors",
        &MultiSimilarityLoss::default(),
        false,
    );
}

#[test]
fn multi_similarity_with_miner() {
    let loss = MultiSimilarityLoss::default().with_miner(MultiSimilarityMiner::default());
    check("multi_similarity_miner.safetensors", &loss, false);
}

#[test]
fn circle() {
    check("circle.safetensors", &CircleLoss::default(), false);
}

#[test]
fn ntxent() {
    check("ntxent.safetensors", &NtXentLoss::new(0.1), false);
}

#[test]
fn proxy_anchor() {
    check_proxy("proxy_anchor.safetensors");
}

#[test]
fn reference_files_are_small() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let len = entry.metadata().unwrap().len();
        assert!(len < 64 * 1024, "{:?} is {len} bytes", entry.file_name());
    }
}
