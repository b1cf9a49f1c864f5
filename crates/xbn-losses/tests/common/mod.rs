//! Helpers shared by the integration tests: loading reference cases and comparing tensors.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use xbn_losses::{MetricLoss, PairInput, ProxyAnchorLoss, RefSet};

/// All tensors of `tests/data/<file>` on `device`.
pub fn load(file: &str, device: &Device) -> HashMap<String, Tensor> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    candle_core::safetensors::load(&path, device)
        .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

/// Case names (`<case>/loss` keys) in a reference file.
pub fn cases(data: &HashMap<String, Tensor>) -> BTreeSet<String> {
    data.keys()
        .filter_map(|k| k.strip_suffix("/loss").map(str::to_string))
        .collect()
}

/// Values of a tensor as f64.
pub fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Asserts `|got − want| ≤ rel · |want| + abs` elementwise.
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor, rel: f64, abs: f64) {
    assert_eq!(got.dims(), want.dims(), "{what}: shapes differ");
    let (g, w) = (flat(got), flat(want));
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= rel * b.abs() + abs,
            "{what}[{i}]: got {a}, want {b} (|diff| = {})",
            (a - b).abs()
        );
    }
}

/// Relative tolerance of the reference comparisons.
pub const REL: f64 = 1e-4;
/// Absolute tolerance of the reference comparisons (f64 cases).
pub const ABS: f64 = 1e-10;
/// Absolute tolerance for f32 cases (computed in f32 here and by PML), per unit of the largest
/// reference entry (at least 1): f32 rounding of a gradient is relative to the size of the
/// terms it sums, not to each entry (entries that are 0 in exact arithmetic come out at ±1e-9;
/// circle loss's gradients of size 20 differ by 4e-6 between PML f32 and PML f64).
pub const ABS_F32: f64 = 1e-6;

/// The absolute tolerance for comparing with `want`: [`ABS`] for f64, [`ABS_F32`] times
/// `max(1, max |want|)` for f32.
pub fn abs_tol(want: &Tensor) -> f64 {
    if want.dtype() == DType::F32 {
        ABS_F32 * flat(want).iter().fold(1.0f64, |m, v| m.max(v.abs()))
    } else {
        ABS
    }
}

/// Runs `loss` on every case of `file` and compares with the reference; with `times_batch` the
/// reference (a mean over anchors) is multiplied by the batch size `b` (sum reduction).
pub fn check(file: &str, loss: &dyn MetricLoss, times_batch: bool) {
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
        assert_close(
            &format!("{file}/{c} loss"),
            &value,
            &want,
            REL,
            abs_tol(&want),
        );
        let grads = value.backward().unwrap();
        let grad = grads
            .get(a.as_tensor())
            .cloned()
            .unwrap_or_else(|| a.zeros_like().unwrap());
        assert_close(
            &format!("{file}/{c} grad"),
            &grad,
            &want_grad,
            REL,
            abs_tol(&want_grad),
        );
    }
}

/// Proxy-anchor cases of `file`: value and gradients w.r.t. the anchors and the proxies.
pub fn check_proxy(file: &str) {
    let dev = xbn_core::test_util::test_device();
    let data = load(file, &dev);
    let names = cases(&data);
    assert!(!names.is_empty(), "{file}: no cases");
    for c in names {
        let get = |k: &str| data[&format!("{c}/{k}")].clone();
        let loss = ProxyAnchorLoss::with_proxies(get("proxies")).unwrap();
        let a = Var::from_tensor(&get("anchors")).unwrap();
        let y = get("anchor_labels");
        let value = loss
            .forward(a.as_tensor(), &y, a.as_tensor(), &y, RefSet::SameAsAnchors)
            .unwrap();
        assert_close(
            &format!("proxy/{c} loss"),
            &value,
            &get("loss"),
            REL,
            abs_tol(&get("loss")),
        );
        let grads = value.backward().unwrap();
        assert_close(
            &format!("proxy/{c} grad"),
            grads.get(a.as_tensor()).unwrap(),
            &get("grad"),
            REL,
            abs_tol(&get("grad")),
        );
        let params = loss.parameters();
        assert_eq!(params.len(), 1);
        let gp = grads.get(params[0].as_tensor()).unwrap();
        assert_close(
            &format!("proxy/{c} grad_proxies"),
            gp,
            &get("grad_proxies"),
            REL,
            abs_tol(&get("grad_proxies")),
        );
    }
}
