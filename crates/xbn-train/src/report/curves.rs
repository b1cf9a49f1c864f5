//! The run's curves, from `metrics.jsonl`, as inline SVG charts: loss terms, Recall@K and
//! MAP@R, learning rates, images/s, memory fill, the moments' shift and the drift by age.

use crate::outputs::metrics::MetricsRecord;
use crate::outputs::plots::{Series, curves, drift_series, svg_chart};

/// One chart of the page.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Chart {
    /// Its title.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// Size of each chart, in pixels.
pub const CHART_SIZE: (u32, u32) = (640, 360);

/// The charts that have at least one finite point, in a fixed order; a chart that cannot be
/// drawn is replaced by a note in `notes`.
pub fn charts(records: &[MetricsRecord], notes: &mut Vec<String>) -> Vec<Chart> {
    // Records of training steps (evaluation-only records carry no loss and no rates).
    let steps: Vec<&MetricsRecord> = records.iter().filter(|r| !r.loss.is_empty()).collect();
    let series = |f: &dyn Fn(&MetricsRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        steps
            .iter()
            .filter_map(|r| f(r).map(|v| (r.iteration as f64, v)))
            .collect()
    };
    let mut keys: Vec<String> = Vec::new();
    for r in &steps {
        for k in r.loss.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let loss: Vec<Series> = keys
        .iter()
        .map(|k| (k.clone(), series(&|r| r.loss.get(k).copied())))
        .collect();

    let mut eval_keys: Vec<String> = Vec::new();
    for r in records {
        for k in r.eval.iter().flat_map(|e| e.keys()) {
            let shown = k.starts_with("recall@") || k == "map@r";
            if shown && !eval_keys.contains(k) {
                eval_keys.push(k.clone());
            }
        }
    }
    let eval: Vec<Series> = eval_keys
        .iter()
        .map(|k| {
            let pts = records
                .iter()
                .filter_map(|r| Some((r.iteration as f64, *r.eval.as_ref()?.get(k)?)))
                .collect();
            (k.clone(), pts)
        })
        .collect();

    let specs: Vec<(&str, Vec<Series>)> = vec![
        ("loss terms", loss),
        ("Recall@K and MAP@R (test)", eval),
        (
            "learning rates",
            vec![
                ("backbone".into(), series(&|r| Some(r.lr_backbone))),
                ("head".into(), series(&|r| Some(r.lr_head))),
            ],
        ),
        (
            "images/s",
            vec![(
                "images/s".into(),
                series(&|r| Some(r.images_per_s).filter(|v| *v > 0.0)),
            )],
        ),
        (
            "memory fill (entries)",
            vec![(
                "memory fill".into(),
                series(&|r| Some(r.memory_fill as f64)),
            )],
        ),
        (
            "moments' shift per adaptation",
            vec![
                ("mean".into(), series(&|r| r.moments_shift.map(|s| s.mean))),
                (
                    "log std".into(),
                    series(&|r| r.moments_shift.map(|s| s.log_std)),
                ),
            ],
        ),
        (
            "memory drift by age: mean ||entry - fresh||",
            drift_series(records),
        ),
    ];
    let mut out = Vec::new();
    for (title, s) in specs {
        let s: Vec<Series> = s.into_iter().filter(|(_, p)| !p.is_empty()).collect();
        if s.is_empty() {
            continue;
        }
        match svg_chart(title, "iteration", &curves(&s), CHART_SIZE) {
            Ok(Some(svg)) => out.push(Chart {
                title: title.to_string(),
                svg,
            }),
            Ok(None) => {}
            Err(e) => notes.push(format!("chart `{title}` not drawn: {e}")),
        }
    }
    out
}
