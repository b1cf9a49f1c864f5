//! XBN / adaptive XBN update of a full memory, and the XBM contrastive loss against it.

use candle_core::{DType, Device, Tensor, Var};
use xbn_core::{AdaptiveCrossBatchNorm, AxbnConfig, CrossBatchNorm, MomentMatcher, XbnConfig};
use xbn_losses::{MetricLoss, RefSet, XbmContrastiveLoss};
use xbn_memory::EmbeddingQueue;

use crate::sizes::{Sizes, grouped_labels};
use crate::timing::{Measurement, Reps, time_runs};

/// A full queue of `m` random unit-norm rows with labels of 4 rows per class.
fn full_queue(sizes: &Sizes, device: &Device) -> anyhow::Result<EmbeddingQueue> {
    let mut queue = EmbeddingQueue::new(sizes.memory, sizes.dim, DType::F32, device)?;
    let rows = unit_rows(sizes.memory, sizes.dim, device)?;
    let labels = Tensor::from_vec(grouped_labels(sizes.memory, 4), sizes.memory, device)?;
    queue.enqueue(&rows, &labels, 0)?;
    Ok(queue)
}

/// `n × d` standard normal rows scaled to unit norm.
fn unit_rows(n: usize, d: usize, device: &Device) -> anyhow::Result<Tensor> {
    let x = Tensor::randn(0f32, 1.0, (n, d), device)?;
    let norm = x.sqr()?.sum_keepdim(1)?.sqrt()?;
    Ok(x.broadcast_div(&norm)?)
}

/// `queue.adapt(matcher, batch)`: the in-place moment matching of the whole memory.
fn update(
    name: &str,
    matcher: &mut dyn MomentMatcher,
    sizes: &Sizes,
    device: &Device,
    reps: Reps,
) -> anyhow::Result<Measurement> {
    let mut queue = full_queue(sizes, device)?;
    let batch = (unit_rows(sizes.batch, sizes.dim, device)? * 1.5)?;
    let times = time_runs(device, reps, || Ok(queue.adapt(matcher, &batch)?))?;
    Ok(Measurement::from_times(name, &sizes.memory_params(), times))
}

/// `xbn_update` and `axbn_update`.
pub fn bench_updates(
    sizes: &Sizes,
    device: &Device,
    reps: Reps,
) -> anyhow::Result<Vec<Measurement>> {
    let mut xbn = CrossBatchNorm::new(XbnConfig::default())?;
    let mut axbn = AdaptiveCrossBatchNorm::new(AxbnConfig::default())?;
    Ok(vec![
        update("xbn_update", &mut xbn, sizes, device, reps)?,
        update("axbn_update", &mut axbn, sizes, device, reps)?,
    ])
}

/// `xbm_contrastive_fwd_bwd`: `ℓ(Z, M)` of [`XbmContrastiveLoss`] (λ = 0.5, cosine, mean over
/// anchors) with the memory as detached references, and its gradient with respect to `Z`.
pub fn bench_xbm_loss(sizes: &Sizes, device: &Device, reps: Reps) -> anyhow::Result<Measurement> {
    let queue = full_queue(sizes, device)?;
    let (memory, memory_labels) = (queue.embeddings(), queue.labels());
    let z = Var::from_tensor(&unit_rows(sizes.batch, sizes.dim, device)?)?;
    let labels = Tensor::from_vec(grouped_labels(sizes.batch, 4), sizes.batch, device)?;
    let loss_fn = XbmContrastiveLoss::default();
    let times = time_runs(device, reps, || {
        let loss = loss_fn.forward(
            z.as_tensor(),
            &labels,
            &memory,
            &memory_labels,
            RefSet::Other,
        )?;
        let grads = loss.backward()?;
        anyhow::ensure!(grads.get(z.as_tensor()).is_some(), "no gradient for Z");
        Ok(())
    })?;
    Ok(Measurement::from_times(
        "xbm_contrastive_fwd_bwd",
        &sizes.memory_params(),
        times,
    ))
}
