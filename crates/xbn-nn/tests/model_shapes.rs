//! Forward/backward shapes of the backbones: a small-width ResNet variant, the full ResNet-50's
//! parameter names and count, and the small CNN.

use candle_core::{DType, Tensor};
use xbn_nn::model::{
    Backbone, BatchNormMode, ModelError, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig,
};

fn check_training_step(net: &dyn Backbone, images: &Tensor) {
    let n = images.dim(0).unwrap();
    let z = net.forward(&images.clone().into(), true).unwrap();
    assert_eq!(z.dims(), &[n, net.embedding_dim()]);
    let norms: Vec<f32> = z
        .sqr()
        .unwrap()
        .sum(1)
        .unwrap()
        .sqrt()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(
        norms.iter().all(|v| (v - 1.0).abs() < 1e-5),
        "embeddings not unit norm: {norms:?}"
    );
    // A loss that depends on every embedding coordinate.
    let w = Tensor::arange(0f32, (n * net.embedding_dim()) as f32, images.device())
        .unwrap()
        .reshape(z.dims())
        .unwrap()
        .cos()
        .unwrap();
    let grads = (z * w).unwrap().sum_all().unwrap().backward().unwrap();
    let groups = net.param_groups();
    assert!(!groups.backbone.is_empty() && !groups.head.is_empty());
    for (name, var) in groups.backbone.iter().chain(&groups.head) {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        assert_eq!(g.dims(), var.dims(), "{name}");
        let s: f32 = g.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
        assert!(s.is_finite() && s > 0.0, "{name}: gradient magnitude {s}");
    }
}

#[test]
fn small_width_resnet_trains_with_the_reference_structure() {
    let dev = xbn_core::test_util::test_device();
    let config = ResNetConfig {
        base_width: 4,
        layers: [2, 1, 2, 1],
        embedding_dim: 8,
        input_size: 32,
        ..ResNetConfig::default()
    };
    let net = ResNet::new(&config, DType::F32, &dev).unwrap();
    assert_eq!(net.feature_dim(), 128);
    let images = Tensor::randn(0f32, 1.0, (3, 3, 32, 32), &dev).unwrap();
    check_training_step(&net, &images);
    // Running statistics moved away from their initial (0, 1).
    let rm: Vec<f32> = net.varmap().data().lock().unwrap()["layer3.1.bn2.running_mean"]
        .as_tensor()
        .to_vec1()
        .unwrap();
    assert!(rm.iter().any(|v| v.abs() > 1e-6));
}

#[test]
fn resnet50_has_torchvision_names_and_parameter_count() {
    let net = ResNet::new(
        &ResNetConfig::resnet50(512),
        DType::F32,
        &candle_core::Device::Cpu,
    )
    .unwrap();
    assert_eq!(net.feature_dim(), 2048);
    let data = net.varmap().data().lock().unwrap();
    for (name, shape) in [
        ("conv1.weight", vec![64, 3, 7, 7]),
        ("bn1.running_var", vec![64]),
        ("layer1.0.downsample.0.weight", vec![256, 64, 1, 1]),
        ("layer2.0.conv2.weight", vec![128, 128, 3, 3]),
        ("layer3.5.bn3.bias", vec![1024]),
        ("layer4.2.conv3.weight", vec![2048, 512, 1, 1]),
        ("head.weight", vec![512, 2048]),
    ] {
        assert_eq!(
            data.get(name).map(|v| v.dims().to_vec()),
            Some(shape),
            "{name}"
        );
    }
    assert!(!data.contains_key("layer1.1.downsample.0.weight"));
    drop(data);
    let groups = net.param_groups();
    let count =
        |g: &[(String, candle_core::Var)]| g.iter().map(|(_, v)| v.elem_count()).sum::<usize>();
    // torchvision's resnet50 has 25,557,032 parameters, 2,049,000 of them in `fc`.
    assert_eq!(count(&groups.backbone), 25_557_032 - 2_049_000);
    assert_eq!(count(&groups.head), 512 * 2048 + 512);
}

#[test]
fn frozen_affine_parameters_leave_the_backbone_group() {
    let config = ResNetConfig {
        base_width: 2,
        layers: [1, 1, 1, 1],
        bn_mode: BatchNormMode::Frozen {
            freeze_affine: true,
        },
        ..ResNetConfig::default()
    };
    let net = ResNet::new(&config, DType::F32, &xbn_core::test_util::test_device()).unwrap();
    let names: Vec<String> = net
        .param_groups()
        .backbone
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names.len(),
        1 + 4 * 4,
        "only conv weights remain trainable: {names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| n.ends_with("weight") && (n.contains("conv") || n.contains("downsample.0")))
    );
}

#[test]
fn small_cnn_trains_and_rejects_bad_input() {
    let dev = xbn_core::test_util::test_device();
    let net = SmallCnn::new(&SmallCnnConfig::default(), DType::F32, &dev).unwrap();
    assert_eq!(net.embedding_dim(), 128);
    assert_eq!(net.input_spec().images().unwrap().height, 32);
    let images = Tensor::randn(0f32, 1.0, (4, 3, 32, 32), &dev).unwrap();
    check_training_step(&net, &images);
    let head: Vec<String> = net
        .param_groups()
        .head
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(head, vec!["head.weight", "head.bias"]);
    let wrong = Tensor::zeros((2, 1, 32, 32), DType::F32, &dev).unwrap();
    assert!(matches!(
        net.forward(&wrong.into(), false),
        Err(ModelError::BadInput { .. })
    ));
}

#[test]
fn same_seed_same_weights() {
    let dev = xbn_core::test_util::test_device();
    let a = SmallCnn::new(&SmallCnnConfig::default(), DType::F32, &dev).unwrap();
    let b = SmallCnn::new(&SmallCnnConfig::default(), DType::F32, &dev).unwrap();
    let c = SmallCnn::new(
        &SmallCnnConfig {
            seed: 1,
            ..SmallCnnConfig::default()
        },
        DType::F32,
        &dev,
    )
    .unwrap();
    let get = |n: &SmallCnn| -> Vec<f32> {
        n.varmap().data().lock().unwrap()["blocks.2.conv.weight"]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    assert_eq!(get(&a), get(&b));
    assert_ne!(get(&a), get(&c));
}

#[test]
fn embed_records_no_graph_and_equals_the_evaluation_forward() {
    let dev = xbn_core::test_util::test_device();
    let cfg = ResNetConfig {
        base_width: 4,
        layers: [1, 1, 1, 1],
        input_size: 32,
        ..ResNetConfig::default()
    };
    let resnet = ResNet::new(&cfg, DType::F32, &dev).unwrap();
    let cnn = SmallCnn::new(&SmallCnnConfig::default(), DType::F32, &dev).unwrap();
    for net in [&resnet as &dyn Backbone, &cnn] {
        let spec = *net.input_spec().images().unwrap();
        let images = Tensor::randn(0f32, 1.0, (3, 3, spec.height, spec.width), &dev).unwrap();
        let graph = net.forward(&images.clone().into(), false).unwrap();
        // The evaluation forward through the parameters records a graph (they are variables)...
        assert!(graph.track_op(), "{}: forward should track", net.name());
        // ...`embed` gives the same embeddings without one.
        let z = net.embed(&images.clone().into()).unwrap();
        assert!(!z.track_op(), "{}: embed recorded a graph", net.name());
        let diff: f32 = (&z - &graph)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!(
            diff == 0.0,
            "{}: embed differs from forward by {diff}",
            net.name()
        );
        assert!(!xbn_nn::model::is_inference_mode(), "inference mode leaked");
    }
}
