//! Helpers shared by the integration tests: loading reference cases and comparing tensors.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};

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
