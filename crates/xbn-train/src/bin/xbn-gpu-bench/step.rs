//! One training step of our ResNet-50 (`xbn_train::model::ResNet`, `xbn_train::optim::AdamW`):
//! forward in training mode, XBM contrastive loss on the batch, backward, optimizer update.

use candle_core::{DType, Device, Tensor};
use xbn_losses::{MetricLoss, RefSet, XbmContrastiveLoss};
use xbn_train::model::{Backbone, BatchNormMode, ResNet, ResNetConfig};
use xbn_train::optim::{AdamW, AdamWConfig, Optimizer, ParamGroup};

use crate::sizes::{Sizes, grouped_labels};
use crate::timing::{Measurement, PhaseClock, Reps, time_runs};

/// Base learning rates and weight decay of the two groups (the PyTorch peer uses the same).
const BACKBONE_LR: f64 = 1e-4;
const HEAD_LR: f64 = 1e-3;
const WEIGHT_DECAY: f64 = 1e-4;

/// ResNet configuration at the benchmark's sizes (ResNet-50 for [`Sizes::full`]).
pub fn resnet_config(sizes: &Sizes) -> ResNetConfig {
    ResNetConfig {
        base_width: sizes.base_width,
        input_size: sizes.image_size,
        bn_mode: BatchNormMode::Trained,
        ..ResNetConfig::resnet50(sizes.dim)
    }
}

/// `resnet50_b{N}.step` (with images/s) and its phases `resnet50_b{N}.features_forward`,
/// `.head_loss`, `.backward`, `.optimizer`, each synchronized separately.
pub fn bench_step(
    sizes: &Sizes,
    batch: usize,
    device: &Device,
    reps: Reps,
) -> anyhow::Result<Vec<Measurement>> {
    let model = ResNet::new(&resnet_config(sizes), DType::F32, device)?;
    let groups = model.param_groups();
    let mut opt = AdamW::new(
        vec![
            ParamGroup::new("backbone", BACKBONE_LR, WEIGHT_DECAY, groups.backbone),
            ParamGroup::new("head", HEAD_LR, WEIGHT_DECAY, groups.head),
        ],
        AdamWConfig::default(),
    )?;
    let s = sizes.image_size;
    let images = Tensor::randn(0f32, 1.0, (batch, 3, s, s), device)?;
    let labels = Tensor::from_vec(grouped_labels(batch, sizes.per_class), batch, device)?;
    let loss_fn = XbmContrastiveLoss::default();
    let loss_of = |z: &Tensor| loss_fn.forward(z, &labels, z, &labels, RefSet::SameAsAnchors);

    let step_times = time_runs(device, reps, || {
        let loss = loss_of(&model.forward(&images.clone().into(), true)?)?;
        opt.step(&loss.backward()?)?;
        Ok(())
    })?;
    let mut phases: [Vec<f64>; 4] = Default::default();
    for _ in 0..reps.iters {
        let mut clock = PhaseClock::start(device)?;
        let features = model.features(&images.clone().into(), true)?;
        phases[0].push(clock.lap()?);
        let loss = loss_of(&model.head(&features)?)?;
        phases[1].push(clock.lap()?);
        let grads = loss.backward()?;
        phases[2].push(clock.lap()?);
        opt.step(&grads)?;
        phases[3].push(clock.lap()?);
    }
    let params = format!("{batch}x3x{s}x{s},fp32,d={}", sizes.dim);
    let prefix = format!("resnet50_b{batch}");
    let mut out = vec![
        Measurement::from_times(&format!("{prefix}.step"), &params, step_times).with_images(batch),
    ];
    for (name, times) in ["features_forward", "head_loss", "backward", "optimizer"]
        .into_iter()
        .zip(phases)
    {
        out.push(Measurement::from_times(
            &format!("{prefix}.{name}"),
            &params,
            times,
        ));
    }
    Ok(out)
}
