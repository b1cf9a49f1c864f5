//! Wall-clock of one training step of the backbones (forward, backward, optimizer update), for
//! sizing the default run (a measurement, not a test; no peer, so no speed claim):
//!
//! ```text
//! cargo run --release -p xbn-train --example step_time
//! ```

use std::time::Instant;

use candle_core::{DType, Tensor};
use xbn_train::model::{Backbone, ResNet, ResNetConfig, SmallCnn, SmallCnnConfig};
use xbn_train::optim::{AdamW, AdamWConfig, Optimizer, ParamGroup};

fn median_step_ms(net: &dyn Backbone, batch: usize, size: usize, reps: usize) -> f64 {
    let dev = xbn_core::test_util::test_device();
    let groups = net.param_groups();
    let mut opt = AdamW::new(
        vec![
            ParamGroup::new("backbone", 1e-3, 1e-4, groups.backbone),
            ParamGroup::new("head", 1e-2, 1e-4, groups.head),
        ],
        AdamWConfig::default(),
    )
    .unwrap();
    let images = Tensor::randn(0f32, 1.0, (batch, 3, size, size), &dev).unwrap();
    let mut times = Vec::new();
    for _ in 0..reps + 1 {
        let start = Instant::now();
        let z = net.forward(&images.clone().into(), true).unwrap();
        let loss = z.matmul(&z.t().unwrap()).unwrap().sum_all().unwrap();
        opt.step(&loss.backward().unwrap()).unwrap();
        dev.synchronize().unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.remove(0); // warm-up
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

fn main() {
    let dev = xbn_core::test_util::test_device();
    let cnn = SmallCnn::new(&SmallCnnConfig::default(), DType::F32, &dev).unwrap();
    for size in [32, 48] {
        println!(
            "small-cnn default, batch 64, {size}px: median {:.1} ms/step",
            median_step_ms(&cnn, 64, size, 5)
        );
    }
    let tiny = ResNet::new(
        &ResNetConfig {
            base_width: 8,
            layers: [1, 1, 1, 1],
            input_size: 64,
            ..ResNetConfig::default()
        },
        DType::F32,
        &dev,
    )
    .unwrap();
    println!(
        "resnet width 8 [1,1,1,1], batch 16, 64px: median {:.1} ms/step",
        median_step_ms(&tiny, 16, 64, 3)
    );
    if std::env::var("XBN_STEP_TIME_RESNET50").is_ok() {
        let r50 = ResNet::new(&ResNetConfig::resnet50(512), DType::F32, &dev).unwrap();
        println!(
            "resnet50, batch 64, 224px: median {:.1} ms/step",
            median_step_ms(&r50, 64, 224, 3)
        );
    }
}
