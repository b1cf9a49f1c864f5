//! PNG plots of a run, drawn with `plotters` from `metrics.jsonl`: the loss, Recall@1 and the
//! memory drift over iterations.

use std::path::Path;

use plotters::prelude::*;

use super::metrics::MetricsRecord;
use crate::error::{Result, TrainError};

/// One named series of `(iteration, value)` points.
pub type Series = (String, Vec<(f64, f64)>);

/// A line of a chart, with an optional shaded band `(x, low, high)` around it.
#[derive(Debug, Clone, Default)]
pub struct Curve {
    /// Legend entry.
    pub name: String,
    /// `(x, y)` points, in x order.
    pub points: Vec<(f64, f64)>,
    /// `(x, low, high)` of the band (an interval), in x order; empty: none.
    pub band: Vec<(f64, f64, f64)>,
}

/// One [`Curve`] without band per series.
pub fn curves(series: &[Series]) -> Vec<Curve> {
    series
        .iter()
        .map(|(name, points)| Curve {
            name: name.clone(),
            points: points.clone(),
            band: Vec::new(),
        })
        .collect()
}

/// Draws `loss.png`, `recall.png` and (when measured) `drift.png` into `dir`.
pub fn draw_all(dir: &Path, records: &[MetricsRecord]) -> Result<()> {
    let mut loss: Vec<Series> = Vec::new();
    for key in ["total", "batch", "memory"] {
        let pts: Vec<(f64, f64)> = records
            .iter()
            .filter_map(|r| r.loss.get(key).map(|v| (r.iteration as f64, *v)))
            .collect();
        if !pts.is_empty() {
            loss.push((format!("loss ({key})"), pts));
        }
    }
    line_chart(
        &dir.join("loss.png"),
        "training loss",
        "iteration",
        &curves(&loss),
    )?;

    let recall: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| {
            let e = r.eval.as_ref()?;
            Some((r.iteration as f64, *e.get("recall@1")?))
        })
        .collect();
    if !recall.is_empty() {
        line_chart(
            &dir.join("recall.png"),
            "Recall@1 (test)",
            "iteration",
            &curves(&[("recall@1".to_string(), recall)]),
        )?;
    }

    let drift = drift_series(records);
    if !drift.is_empty() {
        line_chart(
            &dir.join("drift.png"),
            "memory drift by age: mean ||entry - fresh||",
            "iteration",
            &curves(&drift),
        )?;
    }
    Ok(())
}

/// Per age bucket, the drift as enqueued (stored), after moment matching (adapted) and after
/// the best per-dimension affine map (affine bound); the whole sample's before/after for
/// records without buckets.
pub fn drift_series(records: &[MetricsRecord]) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    let mut push = |name: String, x: f64, y: f64| match series.iter_mut().find(|(n, _)| *n == name)
    {
        Some((_, pts)) => pts.push((x, y)),
        None => series.push((name, vec![(x, y)])),
    };
    for r in records {
        let Some(d) = &r.drift else { continue };
        let x = r.iteration as f64;
        if d.by_age.is_empty() {
            push("as enqueued".into(), x, d.before);
            push("after moment matching".into(), x, d.after);
            continue;
        }
        for b in &d.by_age {
            push(format!("age {}: stored", b.ages), x, b.before);
            push(format!("age {}: adapted", b.ages), x, b.after);
            push(format!("age {}: affine bound", b.ages), x, b.affine);
        }
    }
    series
}

/// The data range `(x0, x1, y0, y1)` of `curves` (bands included), padded for drawing;
/// `None` when no point is finite.
fn chart_range(curves: &[Curve]) -> Option<(f64, f64, f64, f64)> {
    let ys = curves.iter().flat_map(|c| {
        c.points
            .iter()
            .map(|&(x, y)| (x, y))
            .chain(c.band.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]))
    });
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in ys.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return None;
    }
    if x1 - x0 < 1.0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    Some((x0, x1, y0 - pad, y1 + pad))
}

/// Draws `curves` (with their bands) into an 800 × 480 PNG; nothing when no point is finite.
pub fn line_chart(path: &Path, title: &str, x_desc: &str, curves: &[Curve]) -> Result<()> {
    let Some(range) = chart_range(curves) else {
        return Ok(());
    };
    let root = BitMapBackend::new(path, (800, 480)).into_drawing_area();
    draw_chart(root, title, x_desc, curves, range).map_err(|e| TrainError::Plot {
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// Draws `curves` as an SVG document of `size` pixels; `None` when no point is finite.
pub fn svg_chart(
    title: &str,
    x_desc: &str,
    curves: &[Curve],
    size: (u32, u32),
) -> std::result::Result<Option<String>, String> {
    let Some(range) = chart_range(curves) else {
        return Ok(None);
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_chart(root, title, x_desc, curves, range)?;
    }
    Ok(Some(svg))
}

/// Series of at most this many points get a marker on each point.
const MARKED_POINTS: usize = 30;

/// Draws a line chart with a legend on any plotters backend.
fn draw_chart<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    curves: &[Curve],
    (x0, x1, y0, y1): (f64, f64, f64, f64),
) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart.configure_mesh().x_desc(x_desc).draw().map_err(err)?;
    for (i, curve) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        if !curve.band.is_empty() {
            let outline: Vec<(f64, f64)> = curve
                .band
                .iter()
                .map(|&(x, lo, _)| (x, lo))
                .chain(curve.band.iter().rev().map(|&(x, _, hi)| (x, hi)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    color.mix(0.2).filled(),
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                curve.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(curve.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        if curve.points.len() <= MARKED_POINTS {
            // Few points (evaluations): mark them, so a line between two is not read as data.
            chart
                .draw_series(
                    curve
                        .points
                        .iter()
                        .map(|&p| Circle::new(p, 3, color.filled())),
                )
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
