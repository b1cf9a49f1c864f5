//! Our vision transformers against Hugging Face `transformers` (`ViTModel`, `Dinov2Model`,
//! `CLIPVisionModel`) on tiny random configurations (`reference/vit_reference.py`): the final
//! tokens, the pooled class token, and the gradient of every parameter through one backward
//! pass; and the bicubic position resampling against `torch.nn.functional.interpolate`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{D, DType, Device, Tensor};
use xbn_nn::model::{
    Backbone, Input, LoadOptions, VisionTransformer, VitConfig, VitFlavor, resample_positions,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vit")
}

fn io(name: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixtures().join(name), &Device::Cpu).unwrap()
}

fn max_abs(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn scale(t: &Tensor) -> f32 {
    t.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
        .max(1.0)
}

fn model(flavor: VitFlavor) -> VisionTransformer {
    let dir = fixtures().join(flavor.name());
    let mut config = VitConfig::from_file(&dir.join("config.json"), flavor, 8).unwrap();
    config.input_size = 32;
    let vit = VisionTransformer::new(&config, DType::F32, &Device::Cpu).unwrap();
    let report = vit
        .load_pretrained(
            &dir.join("model.safetensors"),
            &LoadOptions::pretrained_vit(),
        )
        .unwrap();
    let missing: Vec<&str> = report.missing.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(missing, vec!["head.bias", "head.weight"], "{flavor:?}");
    let ignored: Vec<&str> = report.ignored.iter().map(|(n, _)| n.as_str()).collect();
    let want: Vec<&str> = if flavor == VitFlavor::Dinov2 {
        vec!["embeddings.mask_token"]
    } else {
        vec![]
    };
    assert_eq!(ignored, want, "{flavor:?}");
    assert_eq!(report.loaded.len() + 2, vit.roles().iter().count());
    vit
}

fn check(flavor: VitFlavor) {
    let vit = model(flavor);
    let io = io(&format!("{}_io.safetensors", flavor.name()));
    let pixels = &io["pixels"];
    let hidden = vit.hidden_states(pixels).unwrap();
    let want = &io["last_hidden_state"];
    let err = max_abs(&hidden, want) / scale(want);
    assert!(err < 1e-4, "{flavor:?}: tokens differ by {err} (relative)");
    eprintln!("{flavor:?}: tokens differ by {err:.1e} (relative)");
    let pooled = vit.features(&Input::Images(pixels.clone()), true).unwrap();
    let err = max_abs(&pooled, &io["pooled"]) / scale(&io["pooled"]);
    assert!(err < 1e-4, "{flavor:?}: pooled differs by {err}");

    // sum(H ⊙ R) + sum(pooled ⊙ R[:, 0]) through the same graph as PyTorch's.
    let probe = &io["probe"];
    let loss = ((&hidden * probe).unwrap().sum_all().unwrap()
        + (&pooled * probe.narrow(1, 0, 1).unwrap().squeeze(1).unwrap())
            .unwrap()
            .sum_all()
            .unwrap())
    .unwrap();
    let grads = loss.backward().unwrap();
    let mut compared = 0;
    let mut worst = 0f32;
    for (name, _, var) in vit.roles().iter() {
        let Some(want) = io.get(&format!("grad.{name}")) else {
            assert!(
                name.starts_with("head."),
                "{flavor:?}: no reference gradient for {name}"
            );
            continue;
        };
        let got = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{flavor:?}: {name} got no gradient"))
            .reshape(want.shape())
            .unwrap();
        let err = max_abs(&got, want) / scale(want);
        assert!(
            err < 1e-4,
            "{flavor:?}: gradient of {name} differs by {err} (relative)"
        );
        worst = worst.max(err);
        compared += 1;
    }
    assert!(
        compared >= 38,
        "{flavor:?}: only {compared} gradients compared"
    );
    eprintln!(
        "{flavor:?}: tokens, pooled and {compared} gradients within 1e-4 (worst gradient {worst:.1e})"
    );
}

#[test]
fn vit_matches_transformers_vitmodel() {
    check(VitFlavor::Vit);
}

#[test]
fn dinov2_matches_transformers_dinov2model() {
    check(VitFlavor::Dinov2);
}

#[test]
fn clip_vision_matches_transformers_clipvisionmodel() {
    check(VitFlavor::ClipVision);
}

#[test]
fn position_resampling_matches_torch_bicubic() {
    let io = io("positions_io.safetensors");
    // (1, C, 7, 7) → (49, C) row-major grid of C-vectors.
    let grid = io["grid"].squeeze(0).unwrap().permute((1, 2, 0)).unwrap();
    let values: Vec<f32> = grid.flatten_all().unwrap().to_vec1().unwrap();
    for to in [4usize, 16] {
        let got = resample_positions(&values, 7, to, 5).unwrap();
        let got = Tensor::from_vec(got, (to, to, 5), &Device::Cpu).unwrap();
        let want = io[&format!("to{to}")]
            .squeeze(0)
            .unwrap()
            .permute((1, 2, 0))
            .unwrap();
        let err = max_abs(&got, &want);
        assert!(err < 1e-5, "7 → {to}: {err}");
    }
    assert!(resample_positions(&values, 6, 4, 5).is_err());
}

#[test]
fn a_checkpoint_for_a_larger_grid_is_resampled_on_load() {
    // The DINOv2 fixture has a 4 × 4 grid (32 px); a model at 48 px has 6 × 6.
    let dir = fixtures().join("dinov2");
    let mut config = VitConfig::from_file(&dir.join("config.json"), VitFlavor::Dinov2, 8).unwrap();
    config.input_size = 48;
    let vit = VisionTransformer::new(&config, DType::F32, &Device::Cpu).unwrap();
    vit.load_pretrained(
        &dir.join("model.safetensors"),
        &LoadOptions::pretrained_vit(),
    )
    .unwrap();
    let pos = vit.varmap().data().lock().unwrap()["embeddings.position_embeddings"]
        .as_tensor()
        .clone();
    assert_eq!(pos.dims(), &[1, 37, 32]);
    let file = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    let orig = &file["embeddings.position_embeddings"];
    // The class token's position is kept; the grid is the bicubic resampling.
    let cls = max_abs(
        &pos.narrow(1, 0, 1).unwrap(),
        &orig.narrow(1, 0, 1).unwrap(),
    );
    assert_eq!(cls, 0.0);
    let grid: Vec<f32> = orig
        .narrow(1, 1, 16)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let want = resample_positions(&grid, 4, 6, 32).unwrap();
    let got: Vec<f32> = pos
        .narrow(1, 1, 36)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(got, want);
    let z = vit
        .forward(
            &Tensor::zeros((1, 3, 48, 48), DType::F32, &Device::Cpu)
                .unwrap()
                .into(),
            false,
        )
        .unwrap();
    assert_eq!(z.dims(), &[1, 8]);
    let norm = z.sqr().unwrap().sum(D::Minus1).unwrap().sqrt().unwrap();
    assert!((norm.to_vec1::<f32>().unwrap()[0] - 1.0).abs() < 1e-5);
}
