//! Every loss against pytorch-metric-learning on the committed reference data
//! (`reference/gen_loss_reference.py`): value and gradient w.r.t. the anchors, 1e-4 relative.

mod common;

use candle_core::Var;
use common::{ABS, REL, assert_close, cases, check, load};
use xbn_losses::{
    CircleLoss, ContrastiveLoss, Distance, MetricLoss, MultiSimilarityLoss, MultiSimilarityMiner,
    NtXentLoss, ProxyAnchorLoss, Reduction, RefSet, TripletMarginLoss, TripletMining,
    XbmContrastiveLoss,
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
    let dev = xbn_core::test_util::test_device();
    let data = load("proxy_anchor.safetensors", &dev);
    for c in cases(&data) {
        let get = |k: &str| data[&format!("{c}/{k}")].clone();
        let loss = ProxyAnchorLoss::with_proxies(get("proxies")).unwrap();
        let a = Var::from_tensor(&get("anchors")).unwrap();
        let y = get("anchor_labels");
        let value = loss
            .forward(a.as_tensor(), &y, a.as_tensor(), &y, RefSet::SameAsAnchors)
            .unwrap();
        assert_close(&format!("proxy/{c} loss"), &value, &get("loss"), REL, ABS);
        let grads = value.backward().unwrap();
        assert_close(
            &format!("proxy/{c} grad"),
            grads.get(a.as_tensor()).unwrap(),
            &get("grad"),
            REL,
            ABS,
        );
        let params = loss.parameters();
        assert_eq!(params.len(), 1);
        let gp = grads.get(params[0].as_tensor()).unwrap();
        assert_close(
            &format!("proxy/{c} grad_proxies"),
            gp,
            &get("grad_proxies"),
            REL,
            ABS,
        );
    }
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
