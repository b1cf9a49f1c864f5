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
    let logarithmic = spans_a_decade(&curves);
    for c in &mut curves {
        c.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.band.sort_by(|a, b| a.0.total_cmp(&b.0));
        if logarithmic {
            c.points.iter_mut().for_each(|p| p.0 = p.0.log10());
            c.band.iter_mut().for_each(|b| b.0 = b.0.log10());
        }
    }
    let x_desc = if logarithmic {
        format!("log10({x})")
    } else {
        x.to_string()
    };
    line_chart(
        &dir.join("summary.png"),
        &format!("{metric} (mean over seeds, 95 % interval)"),
        &x_desc,
        &curves,
    )?;
    Ok(true)
}

/// Memory sizes typically run from one batch to the whole training set: when the `x` values are
/// positive and the largest is at least 10× the smallest, they are drawn on a log10 axis so the
/// small ones do not crowd against the left edge.
fn spans_a_decade(curves: &[Curve]) -> bool {
    let xs = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    lo > 0.0 && hi >= 10.0 * lo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(xs: &[f64]) -> Curve {
        Curve {
            points: xs.iter().map(|&x| (x, 0.5)).collect(),
            ..Curve::default()
        }
    }

    #[test]
    fn a_decade_or_more_of_positive_x_goes_on_a_log_axis() {
        assert!(spans_a_decade(&[
            curve(&[16.0, 64.0]),
            curve(&[256.0, 6012.0])
        ]));
        assert!(!spans_a_decade(&[curve(&[24.0, 48.0])]));
        assert!(
            !spans_a_decade(&[curve(&[0.0, 100.0])]),
            "log10(0) is not drawable"
        );
    }
}
