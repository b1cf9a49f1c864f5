//! `xbn-train search`: the nearest catalogue entries of query images (or texts), embedded with
//! the run's model that built the catalogue, found by xbn-eval's exact blocked k-NN (cosine
//! similarity) over blocks of catalogue rows read from the file ([`super::nearest`]), so the
//! search is exact and holds one block of the catalogue at a time.

use std::path::PathBuf;

use serde_json::{Value, json};
use xbn_data::ItemSource;
use xbn_eval::EvalOptions;

use super::catalogue::{Catalogue, EntryKind};
use super::embed_inputs::{Skipped, embed_images, embed_texts, read_lines};
use super::nearest::nearest;
use super::run_model::{ModelIdentity, RunModel};
use crate::cli::SearchArgs;
use crate::error::{Result, TrainError};

/// One neighbour of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// 1 for the nearest.
    pub rank: usize,
    /// Cosine similarity to the query.
    pub similarity: f32,
    /// Row of the catalogue.
    pub row: usize,
    /// The entry: an image path or a text.
    pub entry: String,
    /// Its label, when the catalogue has labels.
    pub label: Option<i64>,
    /// Its class name, when the catalogue names classes.
    pub class: Option<String>,
}

/// The neighbours of one query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryHits {
    /// The query: an image path or a text.
    pub query: String,
    /// Its neighbours, nearest first.
    pub hits: Vec<Hit>,
}

/// What `search` found.
#[derive(Debug, Clone)]
pub struct SearchResults {
    /// The catalogue searched.
    pub index: PathBuf,
    /// Whether its entries are image paths or texts.
    pub kind: EntryKind,
    /// The model that embedded catalogue and queries.
    pub model: ModelIdentity,
    /// Neighbours asked for per query (capped at the catalogue's size).
    pub k: usize,
    /// Per readable query, in the order given.
    pub queries: Vec<QueryHits>,
    /// Queries that could not be read, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Runs the search of `args`.
pub fn run_search(args: &SearchArgs) -> Result<SearchResults> {
    if args.k == 0 {
        return Err(TrainError::Inputs {
            what: "--k 0".into(),
            message: "the number of neighbours must be at least 1".into(),
        });
    }
    let texts = query_texts(args)?;
    if texts.is_none() && args.images.is_empty() {
        return Err(TrainError::Inputs {
            what: "search".into(),
            message: "no query: give IMAGE paths, or --text TEXT / --texts FILE".into(),
        });
    }
    let run = RunModel::open(
        &args.run,
        args.checkpoint.as_deref(),
        &args.set,
        args.device.as_deref(),
    )?;
    let catalogue = Catalogue::load(&args.index)?;
    check_same_model(&args.index, &catalogue.model, &run)?;
    let (embeddings, names, skipped) = match texts {
        Some(texts) => {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let e = embed_texts(
                &run.model,
                &refs,
                run.cfg.eval.batch_size,
                "query texts",
                &run.device,
            )?;
            (e, texts, Vec::new())
        }
        None => {
            let sources: Vec<ItemSource> = args
                .images
                .iter()
                .map(|p| ItemSource::File {
                    path: p.clone(),
                    crop: None,
                })
                .collect();
            let e = embed_images(&run.model, &run.cfg, &sources, "query images", &run.device)?;
            let names = e
                .kept
                .iter()
                .map(|&i| args.images[i].display().to_string())
                .collect();
            (e.embeddings, names, e.skipped)
        }
    };
    let options = EvalOptions {
        device: run.device.clone(),
        ..EvalOptions::default()
    };
    let nn = nearest(&embeddings, &catalogue.embeddings, args.k, None, &options)?;
    let queries = names
        .into_iter()
        .zip(nn.hits)
        .map(|(query, hits)| QueryHits {
            query,
            hits: hits
                .into_iter()
                .enumerate()
                .map(|(j, (similarity, row))| Hit {
                    rank: j + 1,
                    similarity,
                    row,
                    entry: catalogue.entries[row].clone(),
                    label: catalogue.labels.as_ref().map(|l| l[row]),
                    class: catalogue.class_name(row).map(str::to_string),
                })
                .collect(),
        })
        .collect();
    let k = args.k.min(catalogue.len());
    Ok(SearchResults {
        index: args.index.clone(),
        kind: catalogue.kind,
        model: catalogue.model,
        k,
        queries,
        skipped,
    })
}

/// The query texts of `--text` and `--texts` (in that order), `None` when neither is given;
/// query images beside them are an error.
fn query_texts(args: &SearchArgs) -> Result<Option<Vec<String>>> {
    let mut texts = args.text.clone();
    if let Some(file) = &args.texts {
        texts.extend(read_lines(file)?);
    }
    if args.text.is_empty() && args.texts.is_none() {
        return Ok(None);
    }
    if !args.images.is_empty() {
        return Err(TrainError::Inputs {
            what: "search".into(),
            message: format!(
                "query images ({}) and query texts given together; search one kind at a time",
                args.images[0].display()
            ),
        });
    }
    Ok(Some(texts))
}

/// Refuses a catalogue built by another model than the run's: another embedding dimension,
/// or other model tensors (their SHA-256). The message names both models.
pub fn check_same_model(
    index: &std::path::Path,
    built_by: &ModelIdentity,
    run: &RunModel,
) -> Result<()> {
    let ours = &run.identity;
    let what = if built_by.embedding_dim != ours.embedding_dim {
        "of another dimension"
    } else if built_by.sha256 != ours.sha256 {
        "by another model"
    } else {
        return Ok(());
    };
    Err(TrainError::Catalogue {
        path: index.to_path_buf(),
        message: format!(
            "built {what}: the catalogue's model is {} (full sha256 {}), the run's checkpoint \
             {} is {} (full sha256 {}); rebuild the catalogue with `xbn-train index` and this \
             run, or search with the run (and --checkpoint) that built it",
            built_by.describe(),
            built_by.sha256,
            run.checkpoint.display(),
            ours.describe(),
            ours.sha256
        ),
    })
}

impl SearchResults {
    /// One JSON document: `index`, `model`, `k`, `queries` (each `query` and `neighbours`:
    /// `rank`, `similarity`, `path` or `text`, `label` and `class` when known) and `skipped`.
    pub fn to_json(&self) -> Value {
        let key = match self.kind {
            EntryKind::Images => "path",
            EntryKind::Texts => "text",
        };
        let queries: Vec<Value> = self
            .queries
            .iter()
            .map(|q| {
                let hits: Vec<Value> = q
                    .hits
                    .iter()
                    .map(|h| {
                        // The f32's shortest decimal form, not its widening to f64
                        // (1.0000001, not 1.0000001192092896).
                        let similarity: f64 = h.similarity.to_string().parse().unwrap_or(f64::NAN);
                        let mut v = json!({"rank": h.rank, "similarity": similarity});
                        v[key] = json!(h.entry);
                        if let Some(l) = h.label {
                            v["label"] = json!(l);
                        }
                        if let Some(c) = &h.class {
                            v["class"] = json!(c);
                        }
                        v
                    })
                    .collect();
                json!({"query": q.query, "neighbours": hits})
            })
            .collect();
        let skipped: Vec<Value> = self
            .skipped
            .iter()
            .map(|s| json!({"query": s.input, "reason": s.reason}))
            .collect();
        json!({
            "index": self.index.display().to_string(),
            "model": {
                "sha256": self.model.sha256,
                "embedding_dim": self.model.embedding_dim,
                "backbone": self.model.backbone,
            },
            "k": self.k,
            "queries": queries,
            "skipped": skipped,
        })
    }
}

impl std::fmt::Display for SearchResults {
    /// Per query, a table: rank, similarity, label (class name when known), path or text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            EntryKind::Images => "path",
            EntryKind::Texts => "text",
        };
        for (i, q) in self.queries.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "query {}: {}", i + 1, q.query)?;
            writeln!(
                f,
                "{:>6}  {:>10}  {:<12}  {what}",
                "rank", "similarity", "label"
            )?;
            for h in &q.hits {
                let label = match (&h.class, h.label) {
                    (Some(c), _) => c.clone(),
                    (None, Some(l)) => l.to_string(),
                    (None, None) => "-".into(),
                };
                writeln!(
                    f,
                    "{:>6}  {:>10.4}  {:<12}  {}",
                    h.rank, h.similarity, label, h.entry
                )?;
            }
        }
        Ok(())
    }
}
