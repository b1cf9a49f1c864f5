//! What the model retrieves: for sampled queries and for the worst ones, the `k` nearest
//! references with their similarity and whether they share the query's class, and the class
//! pairs confused most often at rank 1.
//!
//! A query's score is its average precision at `R` (the per-query term of MAP@R, Musgrave et
//! al.): with `R_q` the number of references of the query's class and `c_i ∈ {0, 1}` the
//! relevance of the `i`-th neighbour,
//! `AP@R(q) = (1/R_q) Σ_{i ≤ R_q} c_i · P@i`, `P@i = (1/i) Σ_{j ≤ i} c_j`.
//! Queries whose class has no reference (`R_q = 0`) are left out, as in the metrics.

use std::collections::{BTreeMap, HashMap};

use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xbn_eval::{EvalOptions, knn};

use crate::error::{Result, TrainError};

/// The most neighbours ever ranked per query to score its average precision: classes larger
/// than this are scored on their first `MAX_RANKED` neighbours.
pub const MAX_RANKED: usize = 1000;

/// What to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrievalOptions {
    /// Number of sampled queries.
    pub queries: usize,
    /// Neighbours shown per query.
    pub k: usize,
    /// Number of worst queries (lowest average precision).
    pub worst: usize,
    /// Number of most confused class pairs.
    pub pairs: usize,
    /// Seed of the query sample.
    pub seed: u64,
}

impl Default for RetrievalOptions {
    fn default() -> Self {
        Self {
            queries: 8,
            k: 8,
            worst: 8,
            pairs: 10,
            seed: 0,
        }
    }
}

/// One retrieved reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    /// Row of the reference (in the gallery, or in the queries under leave-one-out).
    pub row: usize,
    /// Its class.
    pub label: i64,
    /// Cosine similarity to the query.
    pub similarity: f32,
    /// Whether it shares the query's class.
    pub same_class: bool,
}

/// One query and its nearest references.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Row of the query.
    pub row: usize,
    /// Its class.
    pub label: i64,
    /// The `k` nearest references, nearest first.
    pub neighbours: Vec<Neighbour>,
    /// `AP@R` of the query (see the module docs).
    pub average_precision: f64,
}

/// Two classes confused at rank 1.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusedPair {
    /// The smaller label.
    pub a: i64,
    /// The larger label.
    pub b: i64,
    /// Queries of either class whose nearest reference is of the other.
    pub count: usize,
    /// One such query and its nearest reference: `(query row, reference row)`.
    pub example: (usize, usize),
}

/// The retrieval galleries of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieval {
    /// Seeded sample of queries, in row order.
    pub sampled: Vec<QueryResult>,
    /// The queries of lowest average precision, worst first (ties: lower row first).
    pub worst: Vec<QueryResult>,
    /// The most confused class pairs, most often first (ties: lower labels first).
    pub confused: Vec<ConfusedPair>,
    /// Queries scored (those with `R_q > 0`).
    pub scored: usize,
}

/// Retrieves the neighbours of every query (exact k-NN, cosine) among `gallery`, or among the
/// other queries (leave-one-out) when `gallery` is `None`, and picks what to show.
pub fn analyse(
    query: &Tensor,
    query_labels: &[i64],
    gallery: Option<(&Tensor, &[i64])>,
    options: &RetrievalOptions,
) -> Result<Retrieval> {
    let n = query.dim(0)?;
    if n != query_labels.len() {
        return Err(TrainError::RowCount {
            embeddings: n,
            what: "query labels",
            count: query_labels.len(),
        });
    }
    let ref_labels = gallery.map_or(query_labels, |(_, l)| l);
    let mut class_size: HashMap<i64, usize> = HashMap::new();
    for &l in ref_labels {
        *class_size.entry(l).or_default() += 1;
    }
    let relevant = |row: usize| {
        let r = class_size
            .get(&query_labels[row])
            .copied()
            .unwrap_or_default();
        if gallery.is_none() {
            r.saturating_sub(1)
        } else {
            r
        }
    };
    let max_r = (0..n).map(relevant).max().unwrap_or(0);
    let ranked = options.k.max(max_r.min(MAX_RANKED)).max(1);
    let nn = knn(
        query,
        gallery.map(|(g, _)| g),
        ranked,
        &EvalOptions {
            device: query.device().clone(),
            ..EvalOptions::default()
        },
    )?;
    let result = |row: usize| -> QueryResult {
        let label = query_labels[row];
        let all: Vec<Neighbour> = (0..nn.k)
            .map(|j| {
                let r = nn.indices[row * nn.k + j] as usize;
                Neighbour {
                    row: r,
                    label: ref_labels[r],
                    similarity: nn.scores[row * nn.k + j],
                    same_class: ref_labels[r] == label,
                }
            })
            .collect();
        let average_precision = average_precision_at_r(&all, relevant(row));
        QueryResult {
            row,
            label,
            neighbours: all.into_iter().take(options.k).collect(),
            average_precision,
        }
    };
    let scored: Vec<usize> = (0..n).filter(|&r| relevant(r) > 0).collect();

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let take = options.queries.min(scored.len());
    let mut picked: Vec<usize> = rand::seq::index::sample(&mut rng, scored.len(), take)
        .into_iter()
        .map(|i| scored[i])
        .collect();
    picked.sort_unstable();
    let sampled = picked.into_iter().map(result).collect();

    let mut all: Vec<QueryResult> = scored.iter().map(|&r| result(r)).collect();
    all.sort_by(|a, b| {
        a.average_precision
            .total_cmp(&b.average_precision)
            .then(a.row.cmp(&b.row))
    });
    all.truncate(options.worst);

    Ok(Retrieval {
        sampled,
        worst: all,
        confused: confused_pairs(&nn.indices, nn.k, query_labels, ref_labels, options.pairs),
        scored: scored.len(),
    })
}

/// `AP@R` of one ranking (see the module docs); 0 when `r` is 0.
pub fn average_precision_at_r(ranking: &[Neighbour], r: usize) -> f64 {
    if r == 0 {
        return 0.0;
    }
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, n) in ranking.iter().take(r).enumerate() {
        if n.same_class {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    sum / r as f64
}

/// Counts, per unordered class pair, the queries whose nearest reference is of the other
/// class; returns the `top` largest counts.
fn confused_pairs(
    indices: &[u32],
    k: usize,
    query_labels: &[i64],
    ref_labels: &[i64],
    top: usize,
) -> Vec<ConfusedPair> {
    let mut pairs: BTreeMap<(i64, i64), ConfusedPair> = BTreeMap::new();
    for (q, &lq) in query_labels.iter().enumerate() {
        let Some(&first) = indices.get(q * k) else {
            continue;
        };
        let r = first as usize;
        let lr = ref_labels[r];
        if lr == lq {
            continue;
        }
        let (a, b) = (lq.min(lr), lq.max(lr));
        pairs
            .entry((a, b))
            .or_insert(ConfusedPair {
                a,
                b,
                count: 0,
                example: (q, r),
            })
            .count += 1;
    }
    let mut out: Vec<ConfusedPair> = pairs.into_values().collect();
    // Stable sort: equal counts keep the map's (a, b) order.
    out.sort_by_key(|p| std::cmp::Reverse(p.count));
    out.truncate(top);
    out
}
