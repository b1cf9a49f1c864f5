//! The evaluation entry points: tensors in, [`EvalReport`] out.

use std::path::Path;

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use crate::knn::scan;
use crate::metrics::{Accumulator, LabelCounts, score_query};
use crate::prepare::{embeddings_f32, labels_i64, ranking_space, reference_bias};
use crate::{BlockPlan, EvalError, EvalReport, Metric, Protocol, Result, load_embeddings};

/// Default working-memory budget: 1 GiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// Settings of an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// How neighbours are ranked (default: cosine).
    pub metric: Metric,
    /// Working memory in bytes for similarity tiles and running top-k buffers (see
    /// [`BlockPlan`]); default [`DEFAULT_MEMORY_BUDGET`].
    pub memory_budget: usize,
    /// Explicit tiles, overriding `memory_budget` (mostly for tests and tuning); the
    /// symmetric scan uses `query_block` as its tile side.
    pub block: Option<BlockPlan>,
    /// Under leave-one-out, multiply only the upper triangle of the symmetric score matrix
    /// (half the flops) when the running buffers of all queries fit the budget
    /// (`n · 8 · (k + max(k/2, 256))` bytes plus two tiles); default `true`.
    pub symmetric: bool,
    /// Cap on the neighbours retrieved for R-precision/MAP@R (`None`: up to the largest
    /// `R_q`, which makes them exact). With a cap below the largest `R_q` the values equal
    /// PML's with the same `k`, and a warning says so.
    pub max_r: Option<usize>,
    /// Device that [`evaluate_files`] loads embeddings onto (default: CPU).
    /// [`evaluate`] runs on the device of its query tensor.
    pub device: Device,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            metric: Metric::Cosine,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            block: None,
            symmetric: true,
            max_r: None,
            device: Device::Cpu,
        }
    }
}

/// Evaluates retrieval of `query` (`n_q × d` float embeddings with `n_q` integer labels)
/// against `gallery` ([`Protocol::QueryGallery`]) or against itself
/// ([`Protocol::LeaveOneOut`], `gallery` must be `None`), with Recall@K at every K of `ks`,
/// precision@1, R-precision and MAP@R (definitions in `docs/evaluation.md`).
///
/// Runs on the device of `query` (the gallery is moved there). Exact: every query is
/// compared with every reference, ties broken by lower reference index. K larger than the
/// number of available references (`n_r`, or `n − 1` under leave-one-out) is capped, with a
/// warning in the report.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use xbn_eval::{evaluate, EvalOptions, Protocol};
/// let x = Tensor::new(&[[1f32, 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9], [0.7, 0.7]], &Device::Cpu)?;
/// let y = Tensor::new(&[0i64, 0, 1, 1, 2], &Device::Cpu)?;
/// let report = evaluate(&x, &y, None, Protocol::LeaveOneOut, &[1, 2], &EvalOptions::default())?;
/// assert_eq!(report.recall, vec![1.0, 1.0]);
/// assert_eq!((report.queries, report.excluded), (5, 1)); // label 2 has no other member
/// # Ok::<(), xbn_eval::EvalError>(())
/// ```
pub fn evaluate(
    query: &Tensor,
    query_labels: &Tensor,
    gallery: Option<(&Tensor, &Tensor)>,
    protocol: Protocol,
    ks: &[usize],
    options: &EvalOptions,
) -> Result<EvalReport> {
    if ks.is_empty() || ks.contains(&0) {
        return Err(EvalError::InvalidK { ks: ks.to_vec() });
    }
    let loo = match (protocol, gallery.is_some()) {
        (Protocol::LeaveOneOut, false) => true,
        (Protocol::QueryGallery, true) => false,
        (Protocol::LeaveOneOut, true) => {
            return Err(EvalError::Protocol(
                "leave-one-out takes no gallery; use query-gallery".into(),
            ));
        }
        (Protocol::QueryGallery, false) => {
            return Err(EvalError::Protocol("query-gallery needs a gallery".into()));
        }
    };
    let metric = options.metric;
    let q = embeddings_f32(query, "query embeddings")?;
    let q_labels = labels_i64(query_labels, "query labels", q.dim(0)?)?;
    let (r, r_labels) = match gallery {
        None => (ranking_space(&q, metric, "query embeddings")?, None),
        Some((g, g_labels)) => {
            let g = embeddings_f32(&g.to_device(q.device())?, "gallery embeddings")?;
            if g.dim(1)? != q.dim(1)? {
                return Err(EvalError::DimMismatch {
                    query: q.dims().to_vec(),
                    reference: g.dims().to_vec(),
                });
            }
            let labels = labels_i64(g_labels, "gallery labels", g.dim(0)?)?;
            (
                ranking_space(&g, metric, "gallery embeddings")?,
                Some(labels),
            )
        }
    };
    let q = match gallery {
        None => r.clone(),
        Some(_) => ranking_space(&q, metric, "query embeddings")?,
    };
    let r_labels = r_labels.as_deref().unwrap_or(&q_labels);
    let available = r_labels.len() - usize::from(loo);
    if available == 0 {
        return Err(EvalError::Empty {
            what: "references (excluding each query's own row)".into(),
            shape: r.dims().to_vec(),
        });
    }

    let counts = LabelCounts::new(r_labels, loo);
    let max_r = q_labels
        .iter()
        .map(|&l| counts.relevant(l))
        .max()
        .unwrap_or(0);
    let max_k = ks.iter().copied().max().unwrap_or(1);
    let r_wanted = options.max_r.map_or(max_r, |cap| max_r.min(cap.max(1)));
    let k = max_k.max(r_wanted).min(available);
    let mut warnings = Vec::new();
    for &kk in ks.iter().filter(|&&kk| kk > available) {
        warnings.push(format!(
            "recall@{kk}: K capped to the {available} available references"
        ));
    }
    if k < max_r {
        warnings.push(format!(
            "only {k} neighbours retrieved but the largest class has R = {max_r}: \
             r_precision and map@r are PML's values with k = {k}, not exact"
        ));
    }

    let bias = reference_bias(&r, metric)?;
    let mut acc = Accumulator::new(ks.iter().map(|&kk| kk.min(k)).collect());
    scan(&q, &r, bias.as_deref(), loo, k, options, |q0, states| {
        let scores: Vec<_> = states
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                let label = q_labels[q0 + i];
                let relevant = counts.relevant(label);
                (relevant > 0).then(|| {
                    let nl: Vec<i64> = s.result().iter().map(|p| r_labels[p.1 as usize]).collect();
                    score_query(label, &nl, relevant)
                })
            })
            .collect();
        scores.into_iter().for_each(|s| acc.add(s));
        Ok(())
    })?;

    let scored = acc.scored as f64;
    let mean = |x: f64| {
        if acc.scored == 0 {
            f64::NAN
        } else {
            x / scored
        }
    };
    if acc.scored == 0 {
        warnings.push("no query has a relevant reference: every metric is NaN".into());
    }
    Ok(EvalReport {
        protocol,
        ks: ks.to_vec(),
        recall: acc.hits.iter().map(|&h| mean(h as f64)).collect(),
        recall_hits: acc.hits.clone(),
        map_at_r: mean(acc.ap_at_r),
        r_precision: mean(acc.r_precision),
        precision_at_1: mean(acc.precision_at_1 as f64),
        queries: q_labels.len(),
        excluded: acc.excluded,
        neighbours: k,
        warnings,
    })
}

/// [`evaluate`] on embedding files (see [`load_embeddings`] for the formats): `embeddings`
/// holds the queries (and, under leave-one-out, the references), `gallery` the gallery of
/// [`Protocol::QueryGallery`]. Labels of a `.npy` file `X.npy` are read from `X_labels.npy`
/// beside it; use [`load_embeddings`] + [`evaluate`] for other label paths.
pub fn evaluate_files(
    embeddings: &Path,
    gallery: Option<&Path>,
    protocol: Protocol,
    ks: &[usize],
    options: &EvalOptions,
) -> Result<EvalReport> {
    let q = load_embeddings(embeddings, None, &options.device)?;
    let g = gallery
        .map(|p| load_embeddings(p, None, &options.device))
        .transpose()?;
    let q_labels = Tensor::new(q.labels.as_slice(), &Device::Cpu)?;
    let g_labels = g
        .as_ref()
        .map(|g| Tensor::new(g.labels.as_slice(), &Device::Cpu))
        .transpose()?;
    let gallery = g
        .as_ref()
        .zip(g_labels.as_ref())
        .map(|(g, l)| (&g.embeddings, l));
    evaluate(&q.embeddings, &q_labels, gallery, protocol, ks, options)
}
