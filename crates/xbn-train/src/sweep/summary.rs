//! `summary.json` and `summary.md` of a sweep: per method and setting, the seed statistics of
//! every evaluation metric and drift figure; per setting, the paired differences of each
//! method against XBM (`norm.kind = "none"`) over the same seeds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cell_result::CellResult;
use super::grid::{Cell, METHOD_PREFIX};
use super::stats::{Interval, paired_difference};
use crate::checkpoint::atomic::write_atomic;
use crate::error::{Result, TrainError};

/// The method every other is compared with: plain XBM.
pub const BASELINE_KIND: &str = "norm.kind=\"none\"";

/// The cells of one method in one setting, over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The setting (axes other than the method's and the seed), `key=value, …`.
    pub setting: String,
    /// The method (`norm.*` axes), `key=value, …`.
    pub method: String,
    /// The setting's axis values.
    pub axes: BTreeMap<String, String>,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Seeds whose run collapsed (see [`CellResult::collapsed`]).
    pub collapsed: Vec<u64>,
    /// Statistics of each metric (`recall@1`, …, `drift.before`, …) over the seeds.
    pub stats: BTreeMap<String, Interval>,
}

/// A method minus XBM in one setting, seed by seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// The setting.
    pub setting: String,
    /// The method compared.
    pub method: String,
    /// The baseline it is compared with.
    pub baseline: String,
    /// Per metric, the interval of the differences `method − baseline`.
    pub differences: BTreeMap<String, Interval>,
}

/// Everything `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The headline metric.
    pub metric: String,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Every cell's result.
    pub cells: Vec<CellResult>,
    /// Per (setting, method).
    pub groups: Vec<Group>,
    /// Per setting and method other than XBM.
    pub paired: Vec<Paired>,
}

/// Per metric, `(seed, value)` of each run of one method and setting.
type SeedSeries = BTreeMap<String, Vec<(u64, f64)>>;

/// Values of every metric of a result: the final evaluation, and the drift figures under
/// `drift.`.
fn values(r: &CellResult) -> BTreeMap<String, f64> {
    let mut out = r.metrics.clone();
    out.retain(|k, _| k != "queries" && k != "excluded");
    for (k, v) in &r.drift {
        out.insert(format!("drift.{k}"), *v);
    }
    out
}

/// Builds the summary of `cells` and their `results` (same order).
pub fn summarize(metric: &str, cells: &[Cell], results: &[CellResult]) -> Summary {
    let mut by_group: BTreeMap<(String, String), Vec<(&Cell, &CellResult)>> = BTreeMap::new();
    for (c, r) in cells.iter().zip(results) {
        by_group
            .entry((c.setting(), c.method()))
            .or_default()
            .push((c, r));
    }
    let mut groups = Vec::new();
    let mut per_seed: BTreeMap<(String, String), SeedSeries> = BTreeMap::new();
    for ((setting, method), members) in &by_group {
        let mut series = SeedSeries::new();
        for (c, r) in members {
            if r.error.is_some() {
                continue;
            }
            for (k, v) in values(r) {
                series.entry(k).or_default().push((c.seed(), v));
            }
        }
        let stats = series
            .iter()
            .filter_map(|(k, v)| {
                let xs: Vec<f64> = v.iter().map(|(_, x)| *x).collect();
                Interval::of(&xs).map(|i| (k.clone(), i))
            })
            .collect();
        let axes = members[0]
            .0
            .axes
            .iter()
            .filter(|(k, _)| !k.starts_with(METHOD_PREFIX) && k.as_str() != super::grid::SEED_AXIS)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        groups.push(Group {
            setting: setting.clone(),
            method: method.clone(),
            axes,
            seeds: members.iter().map(|(c, _)| c.seed()).collect(),
            collapsed: members
                .iter()
                .filter(|(_, r)| r.collapsed)
                .map(|(c, _)| c.seed())
                .collect(),
            stats,
        });
        per_seed.insert((setting.clone(), method.clone()), series);
    }
    let mut paired = Vec::new();
    for ((setting, method), series) in &per_seed {
        let candidates = per_seed
            .keys()
            .filter(|(s, _)| s == setting)
            .map(|(_, m)| m.as_str());
        let Some(baseline) = baseline_of(method, candidates) else {
            continue;
        };
        let base = &per_seed[&(setting.clone(), baseline.clone())];
        let differences = series
            .iter()
            .filter_map(|(k, a)| {
                let b = base.get(k)?;
                paired_difference(a, b).map(|d| (k.clone(), d))
            })
            .collect();
        paired.push(Paired {
            setting: setting.clone(),
            method: method.clone(),
            baseline,
            differences,
        });
    }
    Summary {
        metric: metric.to_string(),
        confidence: super::stats::CONFIDENCE,
        cells: results.to_vec(),
        groups,
        paired,
    }
}

/// The XBM method a method is compared with, among the methods of its setting: the same
/// label with `norm.kind="none"` when the grid has it (a full product of axes), else the first
/// XBM method. `None` for XBM itself, or when there is no XBM to compare with.
fn baseline_of<'a>(method: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let is_xbm = |m: &str| m.split(", ").any(|p| p == BASELINE_KIND);
    if is_xbm(method) {
        return None;
    }
    let same: Vec<String> = method
        .split(", ")
        .map(|p| {
            if p.starts_with("norm.kind=") {
                BASELINE_KIND.to_string()
            } else {
                p.to_string()
            }
        })
        .collect();
    let same = same.join(", ");
    let xbm: Vec<&str> = candidates.filter(|m| is_xbm(m)).collect();
    if xbm.contains(&same.as_str()) {
        return Some(same);
    }
    xbm.first().map(|m| m.to_string())
}

/// Writes `summary.json` and `summary.md` into `dir`.
pub fn write_summary(dir: &Path, summary: &Summary) -> Result<()> {
    let json_path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(summary).map_err(|source| TrainError::Json {
        what: json_path.display().to_string(),
        source,
    })?;
    write_atomic(&json_path, json.as_bytes())?;
    write_atomic(&dir.join("summary.md"), markdown(summary).as_bytes())
}

fn fmt_interval(i: Option<&Interval>) -> String {
    match i {
        None => "–".into(),
        Some(i) => match (i.low, i.high) {
            (Some(lo), Some(hi)) => format!("{:.4} [{:.4}, {:.4}]", i.mean, lo, hi),
            _ => format!("{:.4} (n = 1)", i.mean),
        },
    }
}

/// The human-readable summary: one table of groups, one of paired differences.
pub fn markdown(s: &Summary) -> String {
    let m = &s.metric;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Sweep summary\n\nMeans over seeds with {:.0} % Student-t intervals `[low, high]`. \
         Collapsed: runs that failed with a non-finite loss or ended below the untrained model's {m}.\n",
        100.0 * s.confidence
    );
    let _ = writeln!(
        out,
        "| setting | method | seeds | collapsed | {m} | map@r | drift before | drift after | affine bound | share removed |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---|---|---|---|---|---|");
    for g in &s.groups {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            if g.setting.is_empty() {
                "–"
            } else {
                &g.setting
            },
            g.method,
            g.seeds.len(),
            g.collapsed.len(),
            fmt_interval(g.stats.get(m)),
            fmt_interval(g.stats.get("map@r")),
            fmt_interval(g.stats.get("drift.before")),
            fmt_interval(g.stats.get("drift.after")),
            fmt_interval(g.stats.get("drift.affine")),
            fmt_interval(g.stats.get("drift.removed_fraction")),
        );
    }
    if !s.paired.is_empty() {
        let _ = writeln!(
            out,
            "\n## Paired differences against XBM (same seeds)\n\n\
             | setting | method − XBM | pairs | Δ {m} | Δ map@r | verdict on {m} |\n|---|---|---:|---|---|---|"
        );
        for p in &s.paired {
            let d = p.differences.get(m);
            let verdict = match d.and_then(Interval::sign) {
                Some(true) => "better (interval above 0)",
                Some(false) => "worse (interval below 0)",
                None => "no difference shown (interval contains 0)",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                if p.setting.is_empty() {
                    "–"
                } else {
                    &p.setting
                },
                p.method,
                d.map_or(0, |d| d.n),
                fmt_interval(d),
                fmt_interval(p.differences.get("map@r")),
                verdict
            );
        }
    }
    out
}
