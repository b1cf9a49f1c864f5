//! Every loss against pytorch-metric-learning in f32 (issue 16, item 3): the cases of
//! `reference.rs` with inputs rounded to f32 and PML run in f32 (`tests/data/f32/`,
//! `reference/gen_loss_reference.py f32`); 1e-4 relative, 1e-6 absolute.

mod common;

use common::{check, check_proxy};
use xbn_losses::{
    CircleLoss, ContrastiveLoss, Distance, MultiSimilarityLoss, MultiSimilarityMiner, NtXentLoss,
    Reduction, TripletMarginLoss, TripletMining, XbmContrastiveLoss,
};

#[test]
fn contrastive_pml_f32() {
    check(
        "f32/contrastive_pml.safetensors",
        &ContrastiveLoss::default(),
        false,
    );
    let loss = ContrastiveLoss::new(0.8, 0.3)
        .with_distance(Distance::Cosine)
        .with_reduction(Reduction::Mean);
    check("f32/contrastive_pml_cosine_mean.safetensors", &loss, false);
}

#[test]
fn xbm_contrastive_f32() {
    let loss = XbmContrastiveLoss::default();
    check("f32/xbm_contrastive.safetensors", &loss, false);
}

#[test]
fn triplet_f32() {
    let all = TripletMarginLoss::new(0.2, TripletMining::All);
    check("f32/triplet_all.safetensors", &all, false);
    let cos = TripletMarginLoss::new(0.1, TripletMining::All).with_distance(Distance::Cosine);
    check("f32/triplet_all_cosine.safetensors", &cos, false);
    let hard = TripletMarginLoss::new(0.2, TripletMining::BatchHard);
    check("f32/triplet_batch_hard.safetensors", &hard, false);
    let semi = TripletMarginLoss::new(0.5, TripletMining::SemiHard);
    check("f32/triplet_semihard.safetensors", &semi, false);
}

#[test]
fn multi_similarity_f32() {
    let ms = MultiSimilarityLoss::default();
    check("f32/multi_similarity.safetensors", &ms, false);
    let mined = ms.with_miner(MultiSimilarityMiner::default());
    check("f32/multi_similarity_miner.safetensors", &mined, false);
}

#[test]
fn circle_f32() {
    check("f32/circle.safetensors", &CircleLoss::default(), false);
}

#[test]
fn ntxent_f32() {
    check("f32/ntxent.safetensors", &NtXentLoss::new(0.1), false);
}

#[test]
fn proxy_anchor_f32() {
    check_proxy("f32/proxy_anchor.safetensors");
}
