//! Evaluation on the test protocol of the dataset with xbn-eval: embed the test images with
//! the current weights (BatchNorm in inference mode), then Recall@K, MAP@R, R-precision and
//! precision@1, leave-one-out or query-vs-gallery depending on the dataset's roles.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use xbn_eval::{EvalOptions, EvalReport, Protocol};

use super::data::TrainData;
use crate::error::{Result, TrainError};
use crate::outputs::embeddings::save_embeddings;
use xbn_nn::model::Backbone;

/// Embeddings of one evaluation set with their labels.
#[derive(Debug, Clone)]
pub struct EmbeddedSet {
    /// `(n × d)` unit-norm embeddings.
    pub embeddings: Tensor,
    /// Class labels.
    pub labels: Vec<i64>,
}

/// The test embeddings of one evaluation.
#[derive(Debug, Clone)]
pub struct TestEmbeddings {
    /// Queries (all test items under leave-one-out).
    pub query: EmbeddedSet,
    /// Gallery (query-vs-gallery protocols only).
    pub gallery: Option<EmbeddedSet>,
}

/// Result of one evaluation.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The report of xbn-eval.
    pub report: EvalReport,
    /// Its JSON keys and values (`recall@K`, `map@r`, `r_precision`, `precision@1`, `queries`,
    /// `excluded`).
    pub metrics: BTreeMap<String, f64>,
    /// The embeddings scored.
    pub embeddings: TestEmbeddings,
}

/// Embeds the items `indices` of the dataset in batches of `batch_size`.
pub fn embed_items(
    backbone: &dyn Backbone,
    data: &TrainData,
    indices: &[usize],
    batch_size: usize,
    device: &Device,
) -> Result<EmbeddedSet> {
    let mut parts = Vec::new();
    for batch in data.eval_loader(indices, batch_size, device)? {
        // Inference mode: no autograd graph, so each batch's activations are freed at once.
        let z = backbone.embed(&batch?.input)?;
        parts.push(z);
    }
    let embeddings = if parts.is_empty() {
        Tensor::zeros(
            (0, backbone.embedding_dim()),
            candle_core::DType::F32,
            device,
        )?
    } else {
        Tensor::cat(&parts, 0)?
    };
    Ok(EmbeddedSet {
        embeddings,
        labels: data.labels_of(indices),
    })
}

/// Evaluates the current model on the test protocol with Recall@K at `ks`.
pub fn evaluate_model(
    backbone: &dyn Backbone,
    data: &TrainData,
    ks: &[usize],
    batch_size: usize,
    device: &Device,
) -> Result<Evaluation> {
    let (queries, gallery) = data.test_protocol();
    let query = embed_items(backbone, data, &queries, batch_size, device)?;
    let gallery = gallery
        .map(|g| embed_items(backbone, data, &g, batch_size, device))
        .transpose()?;
    let report = score(&query, gallery.as_ref(), ks)?;
    Ok(Evaluation {
        metrics: report_metrics(&report),
        report,
        embeddings: TestEmbeddings { query, gallery },
    })
}

/// Scores query (and gallery) embeddings with xbn-eval.
pub fn score(
    query: &EmbeddedSet,
    gallery: Option<&EmbeddedSet>,
    ks: &[usize],
) -> Result<EvalReport> {
    let device = query.embeddings.device();
    let ql = Tensor::from_slice(&query.labels, query.labels.len(), device)?;
    let gl = gallery
        .map(|g| Tensor::from_slice(&g.labels, g.labels.len(), device))
        .transpose()?;
    let (protocol, gal) = match (gallery, gl.as_ref()) {
        (Some(g), Some(l)) => (Protocol::QueryGallery, Some((&g.embeddings, l))),
        _ => (Protocol::LeaveOneOut, None),
    };
    let options = EvalOptions {
        device: device.clone(),
        ..EvalOptions::default()
    };
    xbn_eval::evaluate(&query.embeddings, &ql, gal, protocol, ks, &options)
        .map_err(TrainError::from)
}

/// The report's scores and counts, by their JSON names ([`EvalReport::named_values`]).
pub fn report_metrics(report: &EvalReport) -> BTreeMap<String, f64> {
    report.named_values().into_iter().collect()
}

/// Writes the test embeddings for `xbn-train eval`: `embeddings.safetensors` (leave-one-out)
/// or `query_embeddings.safetensors` and `gallery_embeddings.safetensors`.
pub fn save_test_embeddings(dir: &Path, e: &TestEmbeddings) -> Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    match &e.gallery {
        None => {
            let p = dir.join("embeddings.safetensors");
            save_embeddings(&p, &e.query.embeddings, &e.query.labels)?;
            written.push(p);
        }
        Some(g) => {
            let q = dir.join("query_embeddings.safetensors");
            save_embeddings(&q, &e.query.embeddings, &e.query.labels)?;
            let gp = dir.join("gallery_embeddings.safetensors");
            save_embeddings(&gp, &g.embeddings, &g.labels)?;
            written.extend([q, gp]);
        }
    }
    Ok(written)
}
