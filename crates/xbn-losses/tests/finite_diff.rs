//! Autograd gradients against central finite differences in f64 (losses that are smooth at
//! generic points; circle loss is excluded because, as in PML, its pair weights are detached).

use candle_core::{DType, Device, Tensor, Var};
use xbn_losses::{
    ContrastiveLoss, Distance, MetricLoss, MultiSimilarityLoss, NtXentLoss, ProxyAnchorLoss,
    RefSet, TripletMarginLoss, TripletMining, XbmContrastiveLoss,
};

/// Deterministic, irregular values (the CPU rng cannot be seeded).
fn pseudo_random(n: usize, d: usize, phase: f64, dev: &Device) -> Tensor {
    let v: Vec<f64> = (0..n * d)
        .map(|i| (i as f64 * 1.713 + phase).sin() * 1.3 + (i as f64 * 0.37).cos() * 0.4)
        .collect();
    Tensor::from_vec(v, (n, d), dev).unwrap()
}

fn data(dev: &Device) -> (Tensor, Tensor, Tensor, Tensor) {
    let a = pseudo_random(6, 4, 0.3, dev);
    let y = Tensor::new(&[0u32, 0, 1, 1, 2, 0], dev).unwrap();
    let r = pseudo_random(9, 4, 2.1, dev);
    let ry = Tensor::new(&[0u32, 1, 2, 2, 1, 0, 3, 3, 1], dev).unwrap();
    (a, y, r, ry)
}

fn value(
    loss: &dyn MetricLoss,
    a: &Tensor,
    y: &Tensor,
    r: &Tensor,
    ry: &Tensor,
    set: RefSet,
) -> f64 {
    let (r, ry) = match set {
        RefSet::SameAsAnchors => (a, y),
        RefSet::Other => (r, ry),
    };
    let v = loss.forward(a, y, r, ry, set).unwrap();
    v.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn check(name: &str, loss: &dyn MetricLoss) {
    let dev = xbn_core::test_util::test_device();
    let (a, y, r, ry) = data(&dev);
    for set in [RefSet::SameAsAnchors, RefSet::Other] {
        if set == RefSet::Other && !loss.uses_references() {
            continue;
        }
        let var = Var::from_tensor(&a).unwrap();
        let (rr, rry) = match set {
            RefSet::SameAsAnchors => (var.as_tensor().clone(), y.clone()),
            RefSet::Other => (r.clone(), ry.clone()),
        };
        let out = loss.forward(var.as_tensor(), &y, &rr, &rry, set).unwrap();
        let grads = out.backward().unwrap();
        let g: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let base: Vec<f64> = a.flatten_all().unwrap().to_vec1().unwrap();
        let h = 1e-6;
        for i in 0..base.len() {
            let mut plus = base.clone();
            plus[i] += h;
            let mut minus = base.clone();
            minus[i] -= h;
            let p = Tensor::from_vec(plus, a.dims(), &dev).unwrap();
            let m = Tensor::from_vec(minus, a.dims(), &dev).unwrap();
            let fd =
                (value(loss, &p, &y, &r, &ry, set) - value(loss, &m, &y, &r, &ry, set)) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() <= 1e-5 * (1.0 + g[i].abs()),
                "{name} {set:?} element {i}: autograd {} vs finite difference {fd}",
                g[i]
            );
        }
    }
}

#[test]
fn contrastive_matches_finite_differences() {
    check("contrastive", &ContrastiveLoss::default());
    check(
        "contrastive-cos",
        &ContrastiveLoss::new(0.9, 0.2).with_distance(Distance::Cosine),
    );
    check("xbm-contrastive", &XbmContrastiveLoss::new(0.1));
}

#[test]
fn triplet_matches_finite_differences() {
    check(
        "triplet-all",
        &TripletMarginLoss::new(0.3, TripletMining::All),
    );
    check(
        "triplet-hard-cos",
        &TripletMarginLoss::new(0.3, TripletMining::BatchHard).with_distance(Distance::Cosine),
    );
}

#[test]
fn smooth_losses_match_finite_differences() {
    check(
        "multi-similarity",
        &MultiSimilarityLoss::new(2.0, 10.0, 0.5),
    );
    check("ntxent", &NtXentLoss::new(0.5));
    check(
        "ntxent-euclid",
        &NtXentLoss {
            distance: Distance::euclidean(),
            ..NtXentLoss::new(0.5)
        },
    );
    let dev = xbn_core::test_util::test_device();
    let proxies = pseudo_random(4, 4, 5.0, &dev);
    let mut pa = ProxyAnchorLoss::with_proxies(proxies).unwrap();
    pa.alpha = 4.0;
    check("proxy-anchor", &pa);
}
