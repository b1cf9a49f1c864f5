//! The report page: one self-contained HTML file rendered with `minijinja` from
//! `templates/report.html` (HTML auto-escaping on; only our own SVG charts and base64 data
//! URIs are inserted unescaped).

use minijinja::{Environment, Value};
use serde::Serialize;

use super::curves::Chart;
use super::thumbnails::Thumbnail;
use crate::error::{Result, TrainError};

const TEMPLATE: &str = include_str!("../../templates/report.html");

/// A link of the page's navigation bar.
#[derive(Debug, Clone, Serialize)]
pub struct SectionLink {
    /// The section's element id.
    pub id: &'static str,
    /// The link text.
    pub name: &'static str,
}

/// One table cell of the metrics table.
#[derive(Debug, Clone, Serialize)]
pub struct MetricCell {
    /// The value, formatted.
    pub text: String,
    /// `better`, `worse` or empty: compared with the untrained model.
    pub class: &'static str,
}

/// One row of the metrics table (untrained, best, final).
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// `untrained`, `best (iteration N)`, `final (iteration N)`.
    pub name: String,
    /// One cell per metric.
    pub values: Vec<MetricCell>,
}

/// An item as shown: its picture (or text), class and where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// Thumbnail or text.
    pub thumb: Thumbnail,
    /// Class label.
    pub label: i64,
    /// File path or origin (the cell's tooltip).
    pub description: String,
}

/// A retrieved reference as shown.
#[derive(Debug, Clone, Serialize)]
pub struct NeighbourView {
    /// Rank, from 1.
    pub rank: usize,
    /// Thumbnail or text.
    pub thumb: Thumbnail,
    /// Class label.
    pub label: i64,
    /// File path or origin.
    pub description: String,
    /// Cosine similarity, formatted.
    pub similarity: String,
    /// Whether the class is the query's.
    pub same_class: bool,
}

/// A query and its neighbours as shown.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    /// Thumbnail or text.
    pub thumb: Thumbnail,
    /// Class label.
    pub label: i64,
    /// File path or origin.
    pub description: String,
    /// `AP@R`, formatted.
    pub ap: String,
    /// Its nearest references.
    pub neighbours: Vec<NeighbourView>,
}

/// A confused class pair as shown.
#[derive(Debug, Clone, Serialize)]
pub struct PairView {
    /// The smaller label.
    pub a: i64,
    /// The larger label.
    pub b: i64,
    /// Queries confused.
    pub count: usize,
    /// An example query.
    pub query: ItemView,
    /// Its nearest reference, of the other class.
    pub reference: ItemView,
    /// Their similarity, formatted.
    pub similarity: String,
}

/// The galleries of the page.
#[derive(Debug, Clone, Serialize)]
pub struct GalleryView {
    /// `leave-one-out over N test items` or `N queries against M gallery items`.
    pub protocol: String,
    /// Queries scored.
    pub scored: usize,
    /// Neighbours per query.
    pub k: usize,
    /// Seed of the query sample.
    pub seed: u64,
    /// Sampled queries.
    pub sampled: Vec<QueryView>,
    /// Worst queries.
    pub worst: Vec<QueryView>,
    /// Most confused class pairs.
    pub confused: Vec<PairView>,
}

/// A cell of a sweep as listed on the sweep's page.
#[derive(Debug, Clone, Serialize)]
pub struct CellLink {
    /// The cell's folder name.
    pub name: String,
    /// Its seed.
    pub seed: String,
    /// Its value of the sweep's metric, formatted.
    pub value: String,
    /// Relative link to its page.
    pub href: String,
    /// Whether the page exists.
    pub has_page: bool,
}

/// Everything the template shows; `kind` is `run` or `sweep`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PageContext {
    /// `run` or `sweep`.
    pub kind: &'static str,
    /// The page title (the run's or sweep's name).
    pub title: String,
    /// The line under the title.
    pub subtitle: String,
    /// Navigation links.
    pub sections: Vec<SectionLink>,
    /// Warnings shown at the top.
    pub notes: Vec<String>,
    /// Run: the resolved configuration (TOML).
    pub config: String,
    /// Run: metric column names.
    pub metric_names: Vec<String>,
    /// Run: untrained, best and final rows.
    pub metric_rows: Vec<MetricRow>,
    /// Run: the metric that picks the best model.
    pub best_metric: String,
    /// Run: charts.
    pub charts: Vec<Chart>,
    /// Run: the galleries, when the test embeddings and items could be read.
    pub gallery: Option<GalleryView>,
    /// Run: why there is no gallery.
    pub gallery_missing: String,
    /// Thumbnail size in pixels.
    pub thumb: u32,
    /// Sweep: `summary.md` as HTML.
    pub summary_html: String,
    /// Sweep: `summary.png` as a data URI.
    pub summary_png: Option<String>,
    /// Sweep: its metric.
    pub metric: String,
    /// Sweep: its cells.
    pub cells: Vec<CellLink>,
    /// The xbn-train version.
    pub version: &'static str,
}

/// Renders the page.
pub fn render(context: &PageContext) -> Result<String> {
    let mut env = Environment::new();
    let fail = |e: minijinja::Error| TrainError::Report(format!("report template: {e:#}"));
    env.add_template("report.html", TEMPLATE).map_err(fail)?;
    let template = env.get_template("report.html").map_err(fail)?;
    template
        .render(Value::from_serialize(context))
        .map_err(fail)
}
