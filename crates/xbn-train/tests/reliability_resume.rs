//! `--resume DIR` continues in `DIR` and nowhere else: a run folder that was copied or moved
//! resumes in its new place and leaves the folder named in its saved `config.toml` untouched.

mod train_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use xbn_train::checkpoint::{self, Checkpoint};
use xbn_train::cli::TrainArgs;
use xbn_train::train::train;

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

fn iteration_of(dir: &Path) -> String {
    Checkpoint::load(&dir.join(checkpoint::LAST), &Device::Cpu)
        .unwrap()
        .metadata["iteration"]
        .clone()
}

#[test]
fn a_copied_run_folder_resumes_in_the_copy_and_leaves_the_original_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(&tmp.path().join("first-place"), "run");
    cfg.run.stop_after = 3;
    cfg.run.eval_untrained = false;
    let out = train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    assert!(out.interrupted);
    let original = tmp.path().join("first-place").join("run");
    let before = snapshot(&original);

    let copy = tmp.path().join("elsewhere").join("copied-run");
    copy_dir(&original, &copy);
    let args = TrainArgs {
        resume: Some(copy.clone()),
        set: vec!["run.stop_after=0".into()],
        ..TrainArgs::default()
    };
    let resolved = args.resolve_config().unwrap();
    let out = train(&resolved, true, Arc::new(AtomicBool::new(false))).unwrap();

    assert_eq!(out.dir, copy, "the run continued in {}", out.dir.display());
    assert_eq!(out.iterations, 6);
    assert_eq!(iteration_of(&copy), "6");
    assert!(copy.join("embeddings.safetensors").exists());
    let after = snapshot(&original);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files were added to or removed from the original folder"
    );
    for (path, bytes) in &before {
        assert!(&after[path] == bytes, "{} was rewritten", path.display());
    }
    assert_eq!(iteration_of(&original), "3");
}

#[test]
fn resume_with_a_trailing_slash_or_a_dot_path_stays_in_that_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let with_slash = PathBuf::from(format!("{}/", dir.display()));
    let with_dot = dir.join(".");
    for given in [with_slash, with_dot] {
        let args = TrainArgs {
            resume: Some(given.clone()),
            ..TrainArgs::default()
        };
        let mut cfg = train_common::tiny_config(tmp.path(), "elsewhere");
        std::fs::create_dir_all(&dir).unwrap();
        cfg.run.output_dir = PathBuf::from("/nonexistent/place");
        std::fs::write(dir.join("config.toml"), cfg.to_toml_string().unwrap()).unwrap();
        let resolved = args.resolve_config().unwrap();
        let run_dir = resolved.run.output_dir.join(&resolved.run.name);
        assert_eq!(
            run_dir.canonicalize().unwrap(),
            dir.canonicalize().unwrap(),
            "{} resolved to {}",
            given.display(),
            run_dir.display()
        );
    }
}

#[test]
fn resume_refuses_a_name_or_output_dir_that_points_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = train_common::tiny_config(tmp.path(), "r");
    std::fs::write(dir.join("config.toml"), cfg.to_toml_string().unwrap()).unwrap();
    for args in [
        TrainArgs {
            resume: Some(dir.clone()),
            name: Some("other".into()),
            ..TrainArgs::default()
        },
        TrainArgs {
            resume: Some(dir.clone()),
            set: vec!["run.output_dir=\"/tmp/x\"".into()],
            ..TrainArgs::default()
        },
    ] {
        let err = args.resolve_config().unwrap_err().to_string();
        assert!(err.contains("--resume"), "{err}");
    }
}

/// A run killed after its final checkpoint (during the export of embeddings or plots) holds
/// the final evaluation already; resuming it finishes the run again without a second copy of
/// that record (found by the SIGKILL test).
#[test]
fn resuming_a_finished_run_does_not_duplicate_its_final_evaluation() {
    // 4 does not divide 6: the final evaluation is a record of its own; 3 does: it is part of
    // the last training record.
    for (eval_every, evaluations) in [(4, 3), (3, 3)] {
        resume_finished_run(eval_every, evaluations);
    }
}

fn resume_finished_run(eval_every: usize, evaluations: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(tmp.path(), "done");
    cfg.run.eval_every = eval_every;
    train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    let metrics = tmp.path().join("done").join("metrics.jsonl");
    let comparable = || {
        let mut recs = xbn_train::outputs::metrics::read_records(&metrics).unwrap();
        for r in &mut recs {
            r.images_per_s = 0.0;
        }
        recs
    };
    let before = comparable();
    assert_eq!(
        before.iter().filter(|r| r.eval.is_some()).count(),
        evaluations
    );
    let out = train(&cfg, true, Arc::new(AtomicBool::new(false))).unwrap();
    assert_eq!(out.iterations, 6);
    assert!(out.trained.is_some());
    assert_eq!(comparable(), before);
}
