//! `summary.png`: the headline metric against one axis (by default `memory.size`), one line per
//! method and remaining setting, with its 95 % interval as a band.

use std::collections::BTreeMap;
use std::path::Path;

use super::summary::Summary;
use crate::error::Result;
use crate::outputs::plots::{Curve, line_chart};

/// Draws `dir/summary.png`; `false` (and nothing drawn) when no group has a numeric `x` axis.
pub fn draw_summary(dir: &Path, summary: &Summary, x: &str) -> Result<bool> {
    let metric = &summary.metric;
    let mut lines: BTreeMap<String, Curve> = BTreeMap::new();
    for g in &summary.groups {
        let Some(xv) = g.axes.get(x).and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let Some(stat) = g.stats.get(metric) else {
            continue;
        };
        let rest: Vec<String> = g
            .axes
            .iter()
            .filter(|(k, _)| k.as_str() != x)
            .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
            .collect();
        let method = g.method.replace("norm.", "");
        let name = if rest.is_empty() {
            method
        } else {
            format!("{method}; {}", rest.join(", "))
        };
        let curve = lines.entry(name.clone()).or_insert_with(|| Curve {
            name,
            ..Curve::default()
        });
        curve.points.push((xv, stat.mean));
        if let (Some(lo), Some(hi)) = (stat.low, stat.high) {
            curve.band.push((xv, lo, hi));
        }
    }
    if lines.is_empty() {
        return Ok(false);
    }
    let mut curves: Vec<Curve> = lines.into_values().collect();
    for c in &mut curves {
        c.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.band.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    line_chart(
        &dir.join("summary.png"),
        &format!("{metric} (mean over seeds, 95 % interval)"),
        x,
        &curves,
    )?;
    Ok(true)
}
