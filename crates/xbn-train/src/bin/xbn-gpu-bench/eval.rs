//! Leave-one-out Recall@K of `n × d` clustered embeddings with `xbn_eval::evaluate`.

use candle_core::{Device, Tensor};
use xbn_eval::{EvalOptions, Protocol, evaluate};

use crate::sizes::{Sizes, grouped_labels};
use crate::timing::{Measurement, Reps, time_runs};

/// `recall_loo`: the whole evaluation (blocked similarities, top-k, metrics), embeddings
/// already on the device. Data: `n / per_class` random class centres plus noise of the same
/// scale, so the neighbour lists are neither trivial nor random.
pub fn bench_recall(
    sizes: &Sizes,
    device: &Device,
    reps: Reps,
) -> anyhow::Result<(Measurement, Vec<f64>)> {
    let (n, d) = (sizes.eval_rows, sizes.dim);
    let classes = n.div_ceil(sizes.eval_per_class);
    let labels_host = grouped_labels(n, sizes.eval_per_class);
    let labels = Tensor::from_vec(labels_host, n, device)?;
    let centres = Tensor::randn(0f32, 1.0, (classes, d), device)?;
    let x = (centres.index_select(&labels, 0)? + Tensor::randn(0f32, 1.0, (n, d), device)?)?;
    let options = EvalOptions {
        device: device.clone(),
        ..EvalOptions::default()
    };
    let mut recall = Vec::new();
    let times = time_runs(device, reps, || {
        let report = evaluate(
            &x,
            &labels,
            None,
            Protocol::LeaveOneOut,
            &sizes.ks,
            &options,
        )?;
        recall = report.recall;
        Ok(())
    })?;
    let ks: Vec<String> = sizes.ks.iter().map(|k| k.to_string()).collect();
    let params = format!("n={n},d={d},k={}", ks.join("/"));
    Ok((
        Measurement::from_times("recall_loo", &params, times),
        recall,
    ))
}
