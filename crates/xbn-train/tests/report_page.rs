//! `report.html` written by training and by `xbn-train report`, and the `gallery` PNG: the
//! sections, charts and pictures are there, the galleries come from the run's embeddings or
//! its checkpoint, and bad folders get clear errors. (The page is opened in a real browser by
//! `cargo xtask report-check`.)

mod train_common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use xbn_train::cli::{GalleryArgs, GalleryChoice, ReportArgs};
use xbn_train::commands::report::{run_gallery, run_report};
use xbn_train::report::REPORT_FILE;
use xbn_train::train::train;

fn choice(queries: usize, k: usize) -> GalleryChoice {
    GalleryChoice {
        queries,
        k,
        seed: 3,
        device: "cpu".into(),
    }
}

fn report_args(dir: &Path) -> ReportArgs {
    ReportArgs {
        dir: dir.to_path_buf(),
        gallery: choice(4, 5),
        worst: 3,
        pairs: 4,
    }
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

fn trained_run(tmp: &Path) -> std::path::PathBuf {
    let cfg = train_common::tiny_config(tmp, "r");
    train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    tmp.join("r")
}

#[test]
fn training_writes_a_report_with_every_section() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained_run(tmp.path());
    let html = std::fs::read_to_string(run.join(REPORT_FILE)).unwrap();
    for id in [
        "metrics",
        "curves",
        "galleries",
        "worst",
        "confused",
        "config",
    ] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    // The loss, Recall@K, learning rates, images/s, memory fill, moments' shift and drift.
    assert_eq!(count(&html, "<svg"), 7, "charts");
    assert!(html.contains("untrained") && html.contains("final (iteration 6)"));
    // Default galleries: 8 sampled and 8 worst queries with 8 neighbours each, and pairs.
    let pictures = count(&html, "src=\"data:image/jpeg;base64,");
    assert!(pictures >= 2 * 9 * 8, "{pictures} pictures");
    assert!(!html.contains("No retrieval gallery"));
    assert!(
        html.contains("[memory]") && html.contains("size = 24"),
        "the resolved config is shown"
    );
}

#[test]
fn report_command_rebuilds_the_page_from_the_checkpoint_or_embeddings() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained_run(tmp.path());
    std::fs::remove_file(run.join(REPORT_FILE)).unwrap();
    // From the saved test embeddings.
    let path = run_report(&report_args(&run)).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    // 4 sampled + 3 worst queries, 5 neighbours each, plus 2 pictures per confused pair.
    let pictures = count(&html, "src=\"data:image/jpeg;base64,");
    let pairs = count(&html, "queries</div>");
    assert!(pairs <= 4);
    assert_eq!(pictures, (4 + 3) * 6 + 2 * pairs);
    // Without embeddings: computed from the last checkpoint, the same page.
    std::fs::remove_file(run.join("embeddings.safetensors")).unwrap();
    let again = std::fs::read_to_string(run_report(&report_args(&run)).unwrap()).unwrap();
    assert_eq!(
        count(&again, "src=\"data:image/jpeg;base64,"),
        pictures,
        "same galleries from the checkpoint"
    );
    // Neither: the page is written, without galleries, and says why.
    std::fs::remove_file(run.join("checkpoint.safetensors")).unwrap();
    let bare = std::fs::read_to_string(run_report(&report_args(&run)).unwrap()).unwrap();
    assert!(bare.contains("No retrieval gallery"));
    assert!(bare.contains("neither test embeddings"));
    assert_eq!(count(&bare, "<svg"), 7);
}

#[test]
fn report_refuses_a_folder_that_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let e = run_report(&report_args(tmp.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a run folder"), "{e}");
    let e = run_report(&report_args(&tmp.path().join("absent")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no such run or sweep folder"), "{e}");
}

/// Runs of the border colours along one pixel row.
fn colour_runs(img: &image::RgbImage, y: u32) -> Vec<[u8; 3]> {
    let mut runs: Vec<[u8; 3]> = Vec::new();
    let known = [[9u8, 105, 218], [26, 127, 55], [207, 34, 46]];
    let mut last = None;
    for x in 0..img.width() {
        let p = img.get_pixel(x, y).0;
        let c = known.iter().find(|k| **k == p).copied();
        if c.is_some() && c != last {
            runs.push(p);
        }
        last = c;
    }
    runs
}

#[test]
fn gallery_png_draws_each_query_with_coloured_neighbours() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained_run(tmp.path());
    let out = tmp.path().join("gallery.png");
    let args = GalleryArgs {
        run: run.clone(),
        gallery: choice(2, 3),
        worst: false,
        size: 40,
        output: out.clone(),
    };
    assert_eq!(run_gallery(&args).unwrap(), 2);
    let img = image::open(&out).unwrap().to_rgb8();
    // Along the top border of the first row: one blue (query) box, then three boxes, each
    // green or red.
    let runs = colour_runs(&img, 29);
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert_eq!(runs[0], [9, 105, 218]);
    assert!(runs[1..].iter().all(|c| *c != [9, 105, 218]));
    // The worst queries: the first one's nearest neighbour is of another class (AP@R 0 on
    // this barely trained model is the rule, and red must then lead).
    let worst = GalleryArgs {
        worst: true,
        ..args
    };
    assert_eq!(run_gallery(&worst).unwrap(), 2);
    let img = image::open(&out).unwrap().to_rgb8();
    let runs = colour_runs(&img, 29);
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert_eq!(
        runs[1],
        [207, 34, 46],
        "the worst query's nearest is of another class"
    );
    // No such run.
    let e = run_gallery(&GalleryArgs {
        run: tmp.path().join("absent"),
        gallery: choice(2, 3),
        worst: false,
        size: 40,
        output: out,
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a run folder"), "{e}");
}

#[test]
fn a_sweep_folder_gets_its_summary_and_links_to_each_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("grid");
    std::fs::create_dir_all(sweep.join("kind=xbn_seed=0")).unwrap();
    std::fs::write(
        sweep.join("kind=xbn_seed=0").join(REPORT_FILE),
        "<html></html>",
    )
    .unwrap();
    std::fs::write(
        sweep.join("summary.json"),
        r#"{"metric": "recall@1", "cells": [
            {"cell": "kind=xbn_seed=0", "seed": 0, "metrics": {"recall@1": 0.25}},
            {"cell": "kind=none_seed=0", "seed": 0, "metrics": {}}
        ]}"#,
    )
    .unwrap();
    std::fs::write(
        sweep.join("summary.md"),
        "# Sweep summary\n\n| method | recall@1 |\n|---|---|\n| xbn | 0.2500 |\n",
    )
    .unwrap();
    let html = std::fs::read_to_string(run_report(&report_args(&sweep)).unwrap()).unwrap();
    assert!(html.contains("<td>xbn</td>"), "summary.md table rendered");
    // minijinja escapes `/` in attributes as `&#x2f;`, which the browser decodes.
    let links = html.replace("&#x2f;", "/");
    assert!(
        links.contains("href=\"kind=xbn_seed=0/report.html\""),
        "link to the cell's page"
    );
    assert!(html.contains("0.2500"));
    // The second cell failed (no metric) and has no page.
    assert!(html.contains("failed") && html.contains("none yet"));
    assert!(html.contains("No summary.png"));
    for id in ["summary", "plot", "cells"] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
}
