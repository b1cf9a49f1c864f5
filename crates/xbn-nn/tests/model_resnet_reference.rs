//! The ResNet against PyTorch/torchvision (`reference/resnet_reference.py`): a tiny bottleneck
//! ResNet built from torchvision's own blocks, its weights saved with torchvision names (plus a
//! classifier `fc` and `num_batches_tracked`), loaded unchanged here.

use std::path::PathBuf;

use candle_core::{DType, Tensor};
use xbn_nn::model::{
    Backbone, BatchNormMode, LoadOptions, Pooling, ResNet, ResNetConfig, load_weights,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn tiny(mode: BatchNormMode) -> ResNet {
    let config = ResNetConfig {
        base_width: 4,
        layers: [1, 1, 1, 1],
        embedding_dim: 16,
        input_size: 32,
        bn_mode: mode,
        seed: 3,
        // The reference is torchvision's ResNet, which averages.
        pooling: Pooling::Avg,
    };
    ResNet::new(&config, DType::F32, &xbn_core::test_util::test_device()).expect("tiny ResNet")
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a = a.to_device(&candle_core::Device::Cpu).unwrap();
    let b = b.to_device(&candle_core::Device::Cpu).unwrap();
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
fn torchvision_weights_load_and_match_torch_in_eval_and_train_mode() {
    let dev = xbn_core::test_util::test_device();
    let io = candle_core::safetensors::load(data("resnet_tiny_io.safetensors"), &dev).unwrap();
    let net = tiny(BatchNormMode::Trained);
    let report = load_weights(
        &net,
        &data("resnet_tiny_weights.safetensors"),
        &LoadOptions::pretrained(),
    )
    .unwrap();
    assert!(report.missing.is_empty(), "missing {:?}", report.missing);
    // fc.weight, fc.bias and one num_batches_tracked per BatchNorm (5 stem/stage-1 … 18 in all).
    let ignored: Vec<&str> = report.ignored.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        ignored.contains(&"fc.weight") && ignored.contains(&"fc.bias"),
        "{ignored:?}"
    );
    assert_eq!(
        ignored
            .iter()
            .filter(|n| n.ends_with("num_batches_tracked"))
            .count(),
        17
    );
    assert_eq!(report.loaded.len(), 106 - ignored.len());

    let x = &io["input"];
    let z_eval = net.forward(&x.clone().into(), false).unwrap();
    let err = max_abs_diff(&z_eval, &io["embedding.eval"]);
    assert!(
        err < 1e-4,
        "eval-mode embeddings differ from torch by {err}"
    );

    let z_train = net.forward(&x.clone().into(), true).unwrap();
    let err = max_abs_diff(&z_train, &io["embedding.train"]);
    assert!(
        err < 1e-4,
        "train-mode embeddings differ from torch by {err}"
    );

    let vars = net.varmap().data().lock().unwrap().clone();
    let mut checked = 0;
    for (key, want) in &io {
        if let Some(name) = key.strip_prefix("after_train.") {
            let err = max_abs_diff(vars[name].as_tensor(), want);
            assert!(
                err < 1e-4,
                "{name} after a training forward differs from torch by {err}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 17);
}

#[test]
fn frozen_batch_norm_keeps_running_statistics_and_matches_eval_mode() {
    let dev = xbn_core::test_util::test_device();
    let io = candle_core::safetensors::load(data("resnet_tiny_io.safetensors"), &dev).unwrap();
    let net = tiny(BatchNormMode::Frozen {
        freeze_affine: true,
    });
    load_weights(
        &net,
        &data("resnet_tiny_weights.safetensors"),
        &LoadOptions::pretrained(),
    )
    .unwrap();
    let before = net.varmap().data().lock().unwrap()["layer2.0.bn2.running_var"]
        .as_tensor()
        .copy()
        .unwrap();
    let z = net.forward(&io["input"].clone().into(), true).unwrap();
    let err = max_abs_diff(&z, &io["embedding.eval"]);
    assert!(
        err < 1e-4,
        "frozen BN in training should equal torch's eval mode, differs by {err}"
    );
    let after = net.varmap().data().lock().unwrap()["layer2.0.bn2.running_var"]
        .as_tensor()
        .clone();
    assert_eq!(max_abs_diff(&before, &after), 0.0);
    let groups = net.param_groups();
    assert!(
        groups
            .backbone
            .iter()
            .all(|(n, _)| !n.contains("bn") && !n.contains("downsample.1"))
    );
    assert_eq!(groups.head.len(), 2);
}
