//! Forward time of each stage of ResNet-50 (stem, layer1–4, pool + head).
//!
//! `xbn_train::model::ResNet` runs its stages internally, so this is the same network rebuilt
//! from the same public building blocks (`Conv2d`, `BatchNorm2d`, `max_pool2d`,
//! `global_avg_pool`, `EmbeddingHead`), with a synchronization after each stage.

use candle_core::{DType, Device, Tensor};
use xbn_train::model::{
    BatchNorm2d, BatchNormMode, Conv2d, EmbeddingHead, ParamRole, ParamStore, global_avg_pool,
    max_pool2d,
};

use crate::sizes::Sizes;
use crate::timing::{Measurement, PhaseClock, Reps};

const EXPANSION: usize = 4;
const STAGE_NAMES: [&str; 6] = ["stem", "layer1", "layer2", "layer3", "layer4", "pool_head"];

type ConvBn = (Conv2d, BatchNorm2d);

struct Block {
    convs: [ConvBn; 3],
    shortcut: Option<ConvBn>,
}

fn conv_bn(
    store: &mut ParamStore,
    name: &str,
    c: (usize, usize),
    k: usize,
    s: usize,
) -> anyhow::Result<ConvBn> {
    let b = ParamRole::Backbone;
    let pad = if k == 1 { 0 } else { k / 2 };
    Ok((
        Conv2d::new(store, &format!("{name}.conv"), c, k, s, pad, b)?,
        BatchNorm2d::new(store, &format!("{name}.bn"), c.1, b, BatchNormMode::Trained)?,
    ))
}

fn apply(cb: &ConvBn, x: &Tensor) -> anyhow::Result<Tensor> {
    Ok(cb.1.forward(&cb.0.forward(x)?, true)?)
}

impl Block {
    fn forward(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        let y = apply(&self.convs[0], x)?.relu()?;
        let y = apply(&self.convs[1], &y)?.relu()?;
        let y = apply(&self.convs[2], &y)?;
        let short = match &self.shortcut {
            Some(cb) => apply(cb, x)?,
            None => x.clone(),
        };
        Ok((y + short)?.relu()?)
    }
}

/// `resnet50_b{N}.forward.{stem,layer1,…,layer4,pool_head}`, training-mode BatchNorm.
pub fn bench_stages(
    sizes: &Sizes,
    batch: usize,
    device: &Device,
    reps: Reps,
) -> anyhow::Result<Vec<Measurement>> {
    let mut store = ParamStore::new(0, DType::F32, device);
    let w = sizes.base_width;
    let stem = conv_bn(&mut store, "stem", (3, w), 7, 2)?;
    let mut stages: Vec<Vec<Block>> = Vec::new();
    let mut c_in = w;
    for (s, blocks) in [3usize, 4, 6, 3].into_iter().enumerate() {
        let planes = w << s;
        let mut stage = Vec::new();
        for j in 0..blocks {
            let stride = if s > 0 && j == 0 { 2 } else { 1 };
            let p = format!("layer{}.{j}", s + 1);
            let out = planes * EXPANSION;
            let convs = [
                conv_bn(&mut store, &format!("{p}.1"), (c_in, planes), 1, 1)?,
                conv_bn(&mut store, &format!("{p}.2"), (planes, planes), 3, stride)?,
                conv_bn(&mut store, &format!("{p}.3"), (planes, out), 1, 1)?,
            ];
            let shortcut = (stride != 1 || c_in != out)
                .then(|| conv_bn(&mut store, &format!("{p}.down"), (c_in, out), 1, stride))
                .transpose()?;
            stage.push(Block { convs, shortcut });
            c_in = out;
        }
        stages.push(stage);
    }
    let head = EmbeddingHead::new(&mut store, "head", c_in, sizes.dim)?;
    let s = sizes.image_size;
    // The layers work channels-last (N, H, W, C), as inside `ResNet`.
    let images = Tensor::randn(0f32, 1.0, (batch, s, s, 3), device)?;
    let mut times: [Vec<f64>; 6] = Default::default();
    for i in 0..reps.warmup + reps.iters {
        let mut clock = PhaseClock::start(device)?;
        let mut laps = [0.0; 6];
        let mut x = max_pool2d(&apply(&stem, &images)?.relu()?, 3, 2, 1)?;
        laps[0] = clock.lap()?;
        for (k, stage) in stages.iter().enumerate() {
            for block in stage {
                x = block.forward(&x)?;
            }
            laps[k + 1] = clock.lap()?;
        }
        head.forward(&global_avg_pool(&x)?)?;
        laps[5] = clock.lap()?;
        if i >= reps.warmup {
            for (t, lap) in times.iter_mut().zip(laps) {
                t.push(lap);
            }
        }
    }
    let params = format!("{batch}x3x{s}x{s},fp32,train-mode BN");
    Ok(STAGE_NAMES
        .iter()
        .zip(times)
        .map(|(n, t)| {
            Measurement::from_times(&format!("resnet50_b{batch}.forward.{n}"), &params, t)
        })
        .collect())
}
