//! Weight loading: round trip, clear reports of missing/unexpected/mis-shaped tensors with the
//! model left unchanged, and the Hugging Face cache in offline mode (no network).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor};
use xbn_nn::model::{
    Backbone, HubOptions, LoadOptions, ModelError, SmallCnn, SmallCnnConfig, WeightSource,
    load_weights, resolve_weights,
};

fn cnn(seed: u64) -> SmallCnn {
    let config = SmallCnnConfig {
        channels: vec![4, 8],
        embedding_dim: 6,
        input_size: 8,
        seed,
        ..SmallCnnConfig::default()
    };
    SmallCnn::new(&config, DType::F32, &xbn_core::test_util::test_device()).unwrap()
}

fn tensors(net: &dyn Backbone) -> HashMap<String, Tensor> {
    let data = net.varmap().data().lock().unwrap();
    data.iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().copy().unwrap()))
        .collect()
}

fn images() -> Tensor {
    let dev = xbn_core::test_util::test_device();
    Tensor::arange(0f32, 2.0 * 3.0 * 64.0, &dev)
        .unwrap()
        .reshape((2, 3, 8, 8))
        .unwrap()
        .affine(0.01, -1.0)
        .unwrap()
}

fn diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[test]
fn saved_weights_load_into_a_differently_seeded_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let (a, b) = (cnn(1), cnn(2));
    a.varmap().save(&path).unwrap();
    assert!(
        diff(
            &a.forward(&images().into(), false).unwrap(),
            &b.forward(&images().into(), false).unwrap()
        ) > 1e-3
    );
    let report = load_weights(&b, &path, &LoadOptions::strict()).unwrap();
    assert_eq!(report.loaded.len(), tensors(&a).len());
    assert_eq!(
        diff(
            &a.forward(&images().into(), false).unwrap(),
            &b.forward(&images().into(), false).unwrap()
        ),
        0.0
    );
}

fn expect_mismatch(file: &HashMap<String, Tensor>, opts: &LoadOptions, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    candle_core::safetensors::save(file, &path).unwrap();
    let net = cnn(9);
    let before = tensors(&net);
    let err = load_weights(&net, &path, opts).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::WeightMismatch { .. }), "{msg}");
    for needle in needles {
        assert!(
            msg.contains(needle),
            "message should mention `{needle}`:\n{msg}"
        );
    }
    for (name, t) in tensors(&net) {
        assert_eq!(
            diff(&t, &before[&name]),
            0.0,
            "{name} changed by a failed load"
        );
    }
}

#[test]
fn mismatches_are_listed_by_name_and_shape_and_nothing_is_written() {
    let mut file = tensors(&cnn(1));
    file.remove("blocks.1.bn.running_var");
    let dev = xbn_core::test_util::test_device();
    file.insert(
        "extra.weight".into(),
        Tensor::zeros((3, 2), DType::F32, &dev).unwrap(),
    );
    file.insert(
        "head.bias".into(),
        Tensor::zeros(7, DType::F32, &dev).unwrap(),
    );
    expect_mismatch(
        &file,
        &LoadOptions::strict(),
        &[
            "missing: blocks.1.bn.running_var [8]",
            "unexpected: extra.weight [3, 2]",
            "wrong shape: head.bias: model [6], file [7]",
        ],
    );
}

#[test]
fn pretrained_options_skip_the_classifier_and_allow_a_missing_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pretrained.safetensors");
    let mut file = tensors(&cnn(1));
    file.retain(|k, _| !k.starts_with("head."));
    let dev = xbn_core::test_util::test_device();
    file.insert(
        "fc.weight".into(),
        Tensor::zeros((10, 8), DType::F32, &dev).unwrap(),
    );
    file.insert(
        "blocks.0.bn.num_batches_tracked".into(),
        Tensor::new(&[3i64], &dev).unwrap().squeeze(0).unwrap(),
    );
    candle_core::safetensors::save(&file, &path).unwrap();
    let net = cnn(2);
    let report = load_weights(&net, &path, &LoadOptions::pretrained()).unwrap();
    let missing: Vec<&str> = report.missing.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(missing, vec!["head.bias", "head.weight"]);
    assert_eq!(report.ignored.len(), 2);
    // Strict loading of the same file fails.
    expect_mismatch(
        &file,
        &LoadOptions::strict(),
        &[
            "missing: head.weight [6, 8]",
            "unexpected: fc.weight [10, 8]",
        ],
    );
}

/// A checkpoint of `xbn-train` keeps the model under `model.` beside other parts: the
/// pretrained options read the model tensors alone and load every one of them, head included.
#[test]
fn pretrained_options_read_the_model_of_a_training_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let trained = cnn(1);
    let dev = xbn_core::test_util::test_device();
    let mut file: HashMap<String, Tensor> = tensors(&trained)
        .into_iter()
        .map(|(k, t)| (format!("model.{k}"), t))
        .collect();
    file.insert(
        "optimizer.head.weight.exp_avg".into(),
        Tensor::zeros((6, 8), DType::F32, &dev).unwrap(),
    );
    file.insert(
        "memory.embeddings".into(),
        Tensor::zeros((16, 6), DType::F32, &dev).unwrap(),
    );
    candle_core::safetensors::save(&file, &path).unwrap();
    let net = cnn(2);
    let report = load_weights(&net, &path, &LoadOptions::pretrained()).unwrap();
    assert_eq!(report.loaded.len(), tensors(&trained).len());
    assert!(report.missing.is_empty(), "{:?}", report.missing);
    assert_eq!(
        diff(
            &trained.forward(&images().into(), false).unwrap(),
            &net.forward(&images().into(), false).unwrap()
        ),
        0.0
    );
    // Without the option, the prefixed names are unexpected.
    let strict = load_weights(&cnn(3), &path, &LoadOptions::strict()).unwrap_err();
    assert!(
        strict.to_string().contains("unexpected: model.head.weight"),
        "{strict}"
    );
}

#[test]
fn unreadable_files_are_reported_with_their_path() {
    let err = load_weights(
        &cnn(1),
        Path::new("/nonexistent/w.safetensors"),
        &LoadOptions::strict(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/w.safetensors"),
        "{err}"
    );
}

#[test]
fn weight_sources_parse() {
    assert_eq!(
        WeightSource::parse("hf:timm/resnet50.a1_in1k"),
        WeightSource::Hub {
            repo: "timm/resnet50.a1_in1k".into(),
            revision: "main".into(),
            file: "model.safetensors".into()
        }
    );
    assert_eq!(
        WeightSource::parse("hf:org/name@v1:weights/x.safetensors"),
        WeightSource::Hub {
            repo: "org/name".into(),
            revision: "v1".into(),
            file: "weights/x.safetensors".into()
        }
    );
    assert_eq!(
        WeightSource::parse("w.safetensors"),
        WeightSource::File("w.safetensors".into())
    );
}

#[test]
fn offline_hub_reads_the_cache_and_explains_a_miss() {
    let cache = tempfile::tempdir().unwrap();
    let repo_dir = cache.path().join("models--org--tiny");
    std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
    std::fs::write(repo_dir.join("refs/main"), "0123abcd").unwrap();
    let snapshot = repo_dir.join("snapshots/0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    let a = cnn(1);
    a.varmap().save(snapshot.join("model.safetensors")).unwrap();
    let hub = HubOptions {
        offline: true,
        cache_dir: Some(cache.path().to_path_buf()),
        progress: false,
    };

    let path = resolve_weights(&WeightSource::parse("hf:org/tiny"), &hub).unwrap();
    let b = cnn(2);
    load_weights(&b, &path, &LoadOptions::strict()).unwrap();
    assert_eq!(
        diff(
            &a.forward(&images().into(), false).unwrap(),
            &b.forward(&images().into(), false).unwrap()
        ),
        0.0
    );

    let err = resolve_weights(&WeightSource::parse("hf:org/absent"), &hub).unwrap_err();
    assert!(matches!(err, ModelError::NotCached { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("org/absent")
            && msg.contains("HF_HUB_OFFLINE")
            && msg.contains("model.safetensors"),
        "{msg}"
    );
}
