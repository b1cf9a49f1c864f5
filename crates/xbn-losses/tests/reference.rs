//! Every loss against pytorch-metric-learning on the committed reference data
//! (`reference/gen_loss_reference.py`): value and gradient w.r.t. the anchors, 1e-4 relative.

mod common;

use candle_core::{DType, Var};
use common::{assert_close, cases, load};
use xbn_losses::{
    CircleLoss, ContrastiveLoss, Distance, MetricLoss, MultiSimilarityLoss, MultiSimilarityMiner,
    NtXentLoss, PairInput, ProxyAnchorLoss, Reduction, RefSet, TripletMarginLoss, TripletMining,
    XbmContrastiveLoss,
};

const REL: f64 = 1e-4;
const ABS: f64 = 1e-10;

/// Runs `loss` on every case of `file` and compares with the reference; with `times_batch` the
/// reference (a mean over anchors) is multiplied by the batch size `b` (sum reduction).
fn check(file: &str, loss: &dyn MetricLoss, times_batch: bool) {
    let dev = xbn_core::test_util::test_device();
    let data = load(file, &dev);
    let names = cases(&data);
    assert!(!names.is_empty(), "{file}: no cases");
    for c in names {
        let get = |k: &str| data.get(&format!("{c}/{k}")).cloned();
        let a = Var::from_tensor(&get("anchors").unwrap()).unwrap();
        let y = get("anchor_labels").unwrap();
        let same = get("same")
            .unwrap()
            .to_dtype(DType::I64)
            .unwrap()
            .to_scalar::<i64>()
            .unwrap()
            == 1;
        let (r, ry) = if same {
            (a.as_tensor().clone(), y.clone())
        } else {
            (get("refs").unwrap(), get("ref_labels").unwrap())
        };
        let exclude = get("exclude");
        let input = PairInput {
            anchors: a.as_tensor(),
            anchor_labels: &y,
            refs: &r,
            ref_labels: &ry,
            ref_set: if same {
                RefSet::SameAsAnchors
            } else {
                RefSet::Other
            },
            exclude: exclude.as_ref(),
        };
        let value = loss
            .loss(&input)
            .unwrap_or_else(|e| panic!("{file}/{c}: {e}"));
        let b = a.dims()[0] as f64;
        let mut want = get("loss").unwrap();
        let mut want_grad = get("grad").unwrap();
        if times_batch {
            want = want.affine(b, 0.0).unwrap();
            want_grad = want_grad.affine(b, 0.0).unwrap();
        }
        assert_close(&format!("{file}/{c} loss"), &value, &want, REL, ABS);
        let grads = value.backward().unwrap();
        let grad = grads
            .get(a.as_tensor())
            .cloned()
            .unwrap_or_else(|| a.zeros_like().unwrap());
        assert_close(&format!("{file}/{c} grad"), &grad, &want_grad, REL, ABS);
    }
}

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
