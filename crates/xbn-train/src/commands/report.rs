//! `xbn-train report DIR` and `xbn-train gallery --run DIR -o FILE.png`.

use std::path::PathBuf;

use crate::cli::{GalleryArgs, GalleryChoice, ReportArgs};
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::report::gallery_png::draw_gallery;
use crate::report::retrieval::analyse;
use crate::report::{ReportOptions, RetrievalOptions, open_test_set, report_folder};

fn retrieval_options(g: &GalleryChoice, worst: usize, pairs: usize) -> Result<RetrievalOptions> {
    if g.k == 0 {
        return Err(TrainError::Config("--k must be at least 1".into()));
    }
    Ok(RetrievalOptions {
        queries: g.queries,
        k: g.k,
        worst,
        pairs,
        seed: g.seed,
    })
}

/// Writes the folder's `report.html`; returns its path.
pub fn run_report(args: &ReportArgs) -> Result<PathBuf> {
    let device = crate::device::parse_device(&args.gallery.device)?;
    let options = ReportOptions {
        retrieval: retrieval_options(&args.gallery, args.worst, args.pairs)?,
        ..ReportOptions::default()
    };
    report_folder(&args.dir, &options, &device)
}

/// Draws the gallery PNG; returns the number of query rows drawn.
pub fn run_gallery(args: &GalleryArgs) -> Result<usize> {
    let device = crate::device::parse_device(&args.gallery.device)?;
    let rows = if args.worst { 0 } else { args.gallery.queries };
    let worst = if args.worst { args.gallery.queries } else { 0 };
    let options = retrieval_options(&args.gallery, worst, 0)?;
    let cfg_path = args.run.join("config.toml");
    if !cfg_path.is_file() {
        return Err(TrainError::Report(format!(
            "{}: not a run folder (no config.toml)",
            args.run.display()
        )));
    }
    let cfg = TrainConfig::from_file(&cfg_path)?;
    let (data, e) = open_test_set(&args.run, &cfg, &device)?;
    let r = analyse(
        &e.query.embeddings,
        &e.query.labels,
        e.gallery
            .as_ref()
            .map(|g| (&g.embeddings, g.labels.as_slice())),
        &RetrievalOptions {
            queries: rows,
            ..options
        },
    )?;
    let shown = if args.worst { &r.worst } else { &r.sampled };
    let (queries, gallery) = data.test_protocol();
    let refs = gallery.as_deref().unwrap_or(&queries);
    draw_gallery(&args.output, data.index(), &queries, refs, shown, args.size)?;
    Ok(shown.len())
}
