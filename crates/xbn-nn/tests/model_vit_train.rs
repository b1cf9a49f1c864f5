//! The vision transformers train: after one SGD step every parameter of ViT, DINOv2 and CLIP's
//! image tower has moved, with either pooling.

use candle_core::{DType, Tensor};
use xbn_nn::model::{Backbone, VisionTransformer, VitConfig, VitFlavor, VitPooling};

#[test]
fn every_parameter_changes_after_one_step() {
    let dev = xbn_core::test_util::test_device();
    for flavor in [VitFlavor::Vit, VitFlavor::Dinov2, VitFlavor::ClipVision] {
        for pooling in [VitPooling::Cls, VitPooling::MeanPatches] {
            let mut config = VitConfig::from_variant(flavor, "16x2x2/4", 8).unwrap();
            config.input_size = 16;
            config.pooling = pooling;
            let vit = VisionTransformer::new(&config, DType::F32, &dev).unwrap();
            let groups = vit.param_groups();
            let vars: Vec<_> = groups.backbone.into_iter().chain(groups.head).collect();
            assert_eq!(vars.len(), vit.roles().iter().count(), "no buffers");
            let before: Vec<Tensor> = vars
                .iter()
                .map(|(_, v)| v.as_tensor().copy().unwrap())
                .collect();
            let images = Tensor::randn(0f32, 1.0, (4, 3, 16, 16), &dev).unwrap();
            let z = vit.forward(&images.into(), true).unwrap();
            let target = Tensor::randn(0f32, 1.0, z.shape(), &dev).unwrap();
            let loss = (z * target).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            for ((name, var), b) in vars.iter().zip(&before) {
                let g = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{flavor:?} {pooling:?}: {name} got no gradient"));
                var.set(&(var.as_tensor() - (g * 0.1).unwrap()).unwrap())
                    .unwrap();
                let moved = (var.as_tensor() - b)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .max(0)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!(moved > 0.0, "{flavor:?} {pooling:?}: {name} did not change");
            }
        }
    }
}

#[test]
fn variants_and_bad_sizes() {
    let s16 = VitConfig::from_variant(VitFlavor::Vit, "s16", 128).unwrap();
    assert_eq!(
        (
            s16.encoder.hidden_size,
            s16.encoder.num_hidden_layers,
            s16.encoder.num_attention_heads
        ),
        (384, 12, 6)
    );
    assert_eq!((s16.grid(), s16.input_size), (14, 224));
    let b16 = VitConfig::from_variant(VitFlavor::Dinov2, "b16", 128).unwrap();
    assert_eq!(b16.encoder.hidden_size, 768);
    let b14 = VitConfig::from_variant(VitFlavor::Dinov2, "b14", 128).unwrap();
    assert_eq!(b14.grid(), 16);
    for bad in ["x16", "s", "32x2/8", "30x2x4/8", ""] {
        assert!(
            VitConfig::from_variant(VitFlavor::Vit, bad, 8).is_err(),
            "{bad}"
        );
    }
    let mut c = VitConfig::from_variant(VitFlavor::Vit, "16x1x2/4", 8).unwrap();
    c.input_size = 18;
    assert!(VisionTransformer::new(&c, DType::F32, &candle_core::Device::Cpu).is_err());
    c.input_size = 16;
    let vit = VisionTransformer::new(&c, DType::F32, &candle_core::Device::Cpu).unwrap();
    let wrong = Tensor::zeros((1, 3, 20, 20), DType::F32, &candle_core::Device::Cpu).unwrap();
    let err = vit.forward(&wrong.into(), false).unwrap_err().to_string();
    assert!(err.contains("(N, 3, 16, 16)"), "{err}");
}
