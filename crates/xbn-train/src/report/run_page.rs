//! The page of one run: metrics (untrained, best, final), curves, retrieval galleries, worst
//! queries, confused class pairs and the resolved configuration.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use xbn_data::DatasetIndex;

use super::ReportOptions;
use super::curves::charts;
use super::page::{
    GalleryView, ItemView, MetricCell, MetricRow, NeighbourView, PageContext, PairView, QueryView,
    SectionLink,
};
use super::retrieval::{QueryResult, analyse};
use super::thumbnails::{Thumbnail, thumbnail};
use crate::error::Result;
use crate::outputs::metrics::MetricsRecord;
use crate::train::evaluate::TestEmbeddings;

/// The test items behind the rows of the test embeddings: row `r` of the queries is item
/// `query_items[r]` of `index`, and likewise for the gallery.
#[derive(Debug, Clone, Copy)]
pub struct RetrievalInput<'a> {
    /// The dataset.
    pub index: &'a DatasetIndex,
    /// Item of each query row.
    pub query_items: &'a [usize],
    /// Item of each gallery row (query-vs-gallery protocols).
    pub gallery_items: Option<&'a [usize]>,
    /// The test embeddings.
    pub embeddings: &'a TestEmbeddings,
}

/// What the page of a run is made of.
#[derive(Debug, Clone)]
pub struct RunInputs<'a> {
    /// The run folder.
    pub dir: &'a Path,
    /// The resolved configuration, as TOML.
    pub config: &'a str,
    /// `eval.best_metric`.
    pub best_metric: &'a str,
    /// `metrics.jsonl`.
    pub records: &'a [MetricsRecord],
    /// The galleries' input, or why there is none.
    pub retrieval: std::result::Result<RetrievalInput<'a>, String>,
}

/// Builds the page's context.
pub fn run_context(inputs: &RunInputs<'_>, options: &ReportOptions) -> Result<PageContext> {
    let mut notes = Vec::new();
    let title = inputs
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| inputs.dir.display().to_string());
    let last_iteration = inputs.records.iter().map(|r| r.iteration).max();
    let (metric_names, metric_rows) = metrics_table(inputs.records, inputs.best_metric);
    let charts = charts(inputs.records, &mut notes);
    let (gallery, gallery_missing) = match &inputs.retrieval {
        Ok(input) => match gallery(input, options) {
            Ok(g) => (Some(g), String::new()),
            Err(e) => (None, e.to_string()),
        },
        Err(why) => (None, why.clone()),
    };
    Ok(PageContext {
        kind: "run",
        title,
        subtitle: format!(
            "{} · {}",
            inputs.dir.display(),
            match last_iteration {
                Some(it) => format!("written at iteration {it}"),
                None => "no metrics recorded yet".into(),
            }
        ),
        sections: vec![
            SectionLink {
                id: "metrics",
                name: "Metrics",
            },
            SectionLink {
                id: "curves",
                name: "Curves",
            },
            SectionLink {
                id: "galleries",
                name: "Retrieval galleries",
            },
            SectionLink {
                id: "worst",
                name: "Worst queries",
            },
            SectionLink {
                id: "confused",
                name: "Confused classes",
            },
            SectionLink {
                id: "config",
                name: "Configuration",
            },
        ],
        notes,
        config: inputs.config.to_string(),
        metric_names,
        metric_rows,
        best_metric: inputs.best_metric.to_string(),
        charts,
        gallery,
        gallery_missing,
        thumb: options.thumb,
        version: env!("CARGO_PKG_VERSION"),
        ..PageContext::default()
    })
}

/// Column order: Recall@K by K, then MAP@R, R-precision, precision@1, then anything else
/// (counts are left out).
fn column_order(key: &str) -> (u8, usize, String) {
    if let Some(k) = key.strip_prefix("recall@").and_then(|k| k.parse().ok()) {
        return (0, k, String::new());
    }
    let rank = match key {
        "map@r" => 1,
        "r_precision" => 2,
        "precision@1" => 3,
        _ => 4,
    };
    (rank, 0, key.to_string())
}

/// The untrained (iteration 0), best (by `best_metric`) and final evaluations.
fn metrics_table(records: &[MetricsRecord], best_metric: &str) -> (Vec<String>, Vec<MetricRow>) {
    let evals: Vec<(usize, &BTreeMap<String, f64>)> = records
        .iter()
        .filter_map(|r| Some((r.iteration, r.eval.as_ref()?)))
        .collect();
    let Some(&(last_it, last)) = evals.last() else {
        return (Vec::new(), Vec::new());
    };
    let mut names: Vec<String> = last
        .keys()
        .filter(|k| *k != "queries" && *k != "excluded")
        .cloned()
        .collect();
    names.sort_by_key(|k| column_order(k));
    let untrained = evals.first().filter(|(it, _)| *it == 0).map(|(_, e)| *e);
    let best = evals
        .iter()
        .filter(|(_, e)| e.get(best_metric).is_some_and(|v| v.is_finite()))
        .fold(
            None::<(usize, &BTreeMap<String, f64>)>,
            |acc, &(it, e)| match acc {
                Some((_, b)) if b[best_metric] >= e[best_metric] => acc,
                _ => Some((it, e)),
            },
        );
    let row = |name: String, e: &BTreeMap<String, f64>, compare: bool| MetricRow {
        name,
        values: names
            .iter()
            .map(|k| {
                let v = e.get(k).copied().unwrap_or(f64::NAN);
                let base = untrained.and_then(|u| u.get(k)).copied();
                let class = match base {
                    Some(b) if compare && v > b => "better",
                    Some(b) if compare && v < b => "worse",
                    _ => "",
                };
                MetricCell {
                    text: format!("{v:.4}"),
                    class,
                }
            })
            .collect(),
    };
    let mut rows = Vec::new();
    if let Some(u) = untrained {
        rows.push(row("untrained".into(), u, false));
    }
    if let Some((it, b)) = best {
        rows.push(row(format!("best (iteration {it})"), b, true));
    }
    if last_it != 0 || untrained.is_none() {
        rows.push(row(format!("final (iteration {last_it})"), last, true));
    }
    (names, rows)
}

/// Thumbnails of dataset items, each read once.
struct Pictures<'a> {
    index: &'a DatasetIndex,
    size: u32,
    cache: HashMap<usize, Thumbnail>,
}

impl Pictures<'_> {
    fn view(&mut self, item: usize, label: i64) -> ItemView {
        let (thumb, description) = match self.index.items.get(item) {
            Some(it) => (
                self.cache
                    .entry(item)
                    .or_insert_with(|| thumbnail(it, self.size))
                    .clone(),
                it.source.describe(),
            ),
            None => (
                Thumbnail::Missing {
                    reason: format!("item {item} is not in the dataset"),
                },
                String::new(),
            ),
        };
        ItemView {
            thumb,
            label,
            description,
        }
    }
}

fn gallery(input: &RetrievalInput<'_>, options: &ReportOptions) -> Result<GalleryView> {
    let e = input.embeddings;
    let check = |what: &str, rows: usize, items: usize| -> Result<()> {
        if rows == items {
            return Ok(());
        }
        Err(crate::error::TrainError::Report(format!(
            "the {what} embeddings have {rows} rows but the dataset's test protocol has {items} \
             {what} items (was the dataset changed since the run?)"
        )))
    };
    check("query", e.query.embeddings.dim(0)?, input.query_items.len())?;
    let gallery = match (&e.gallery, input.gallery_items) {
        (Some(g), Some(items)) => {
            check("gallery", g.embeddings.dim(0)?, items.len())?;
            Some((g, items))
        }
        (None, None) => None,
        _ => {
            return Err(crate::error::TrainError::Report(
                "the test embeddings and the dataset disagree on the protocol \
                 (leave-one-out against query-vs-gallery)"
                    .into(),
            ));
        }
    };
    let r = analyse(
        &e.query.embeddings,
        &e.query.labels,
        gallery.map(|(g, _)| (&g.embeddings, g.labels.as_slice())),
        &options.retrieval,
    )?;
    let ref_items = gallery.map_or(input.query_items, |(_, items)| items);
    let mut pictures = Pictures {
        index: input.index,
        size: options.thumb,
        cache: HashMap::new(),
    };
    let mut query_view = |q: &QueryResult| {
        let v = pictures.view(input.query_items[q.row], q.label);
        QueryView {
            thumb: v.thumb,
            label: q.label,
            description: v.description,
            ap: format!("{:.3}", q.average_precision),
            neighbours: q
                .neighbours
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let v = pictures.view(ref_items[n.row], n.label);
                    NeighbourView {
                        rank: i + 1,
                        thumb: v.thumb,
                        label: n.label,
                        description: v.description,
                        similarity: format!("{:.3}", n.similarity),
                        same_class: n.same_class,
                    }
                })
                .collect(),
        }
    };
    let sampled = r.sampled.iter().map(&mut query_view).collect();
    let worst = r.worst.iter().map(&mut query_view).collect();
    let similarity = |q: usize, g: usize| -> Result<f32> {
        let a = e.query.embeddings.get(q)?;
        let b = match gallery {
            Some((gs, _)) => gs.embeddings.get(g)?,
            None => e.query.embeddings.get(g)?,
        };
        Ok((a * b)?.sum_all()?.to_scalar::<f32>()?)
    };
    let mut confused = Vec::new();
    for p in &r.confused {
        let (q, g) = p.example;
        let s = similarity(q, g)?;
        confused.push(PairView {
            a: p.a,
            b: p.b,
            count: p.count,
            query: pictures.view(input.query_items[q], e.query.labels[q]),
            reference: pictures.view(
                ref_items[g],
                gallery.map_or(e.query.labels[g], |(gs, _)| gs.labels[g]),
            ),
            similarity: format!("{s:.3}"),
        });
    }
    let n_q = input.query_items.len();
    Ok(GalleryView {
        protocol: match gallery {
            Some((_, items)) => format!("{n_q} queries against {} gallery items", items.len()),
            None => format!("leave-one-out over {n_q} test items"),
        },
        scored: r.scored,
        k: options.retrieval.k,
        seed: options.retrieval.seed,
        sampled,
        worst,
        confused,
    })
}
