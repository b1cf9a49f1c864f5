//! Configuration parsing and validation: unknown keys, impossible P × K, memory smaller than a
//! batch, missing weights offline; the default file matches the built-in defaults.

mod train_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use xbn_train::TrainError;
use xbn_train::cli::TrainArgs;
use xbn_train::config::{TrainConfig, overrides};
use xbn_train::train::train;

fn config_error(cfg: &TrainConfig) -> String {
    match train(cfg, false, Arc::new(AtomicBool::new(false))) {
        Err(TrainError::Config(m)) => m,
        Err(e) => panic!("expected a configuration error, got {e}"),
        Ok(_) => panic!("expected a configuration error, training ran"),
    }
}

#[test]
fn unknown_keys_are_named() {
    let err = TrainConfig::from_toml_str("[memory]\nsize = 10\nsise = 3\n", "x.toml").unwrap_err();
    assert!(err.to_string().contains("sise"), "{err}");
    let err = TrainConfig::from_toml_str("[memroy]\nsize = 10\n", "x.toml").unwrap_err();
    assert!(err.to_string().contains("memroy"), "{err}");
    let err = overrides::apply(&TrainConfig::default(), &["optim.lr=1".into()]).unwrap_err();
    assert!(err.to_string().contains("lr"), "{err}");
}

#[test]
fn dedicated_flags_and_set_override_in_order() {
    let args = TrainArgs {
        memory_size: Some(512),
        norm: Some("xbn".into()),
        set: vec!["memory.size=2048".into(), "data.root=/data/sop".into()],
        ..TrainArgs::default()
    };
    let cfg = args.resolve_config().unwrap();
    assert_eq!(
        cfg.memory.size, 2048,
        "--set comes after the dedicated flags"
    );
    assert_eq!(cfg.norm.kind, xbn_train::config::NormKind::Xbn);
    assert_eq!(cfg.data.root, std::path::PathBuf::from("/data/sop"));
    let bad = TrainArgs {
        norm: Some("bn".into()),
        ..TrainArgs::default()
    };
    assert!(bad.resolve_config().is_err());
}

#[test]
fn default_file_matches_built_in_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/default.toml");
    let from_file = TrainConfig::from_file(std::path::Path::new(path)).unwrap();
    assert_eq!(from_file, TrainConfig::default());
}

#[test]
fn every_preset_parses_and_validates() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let cfg = TrainConfig::from_file(&path).unwrap();
            xbn_train::config::validate::validate(&cfg)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(
        n >= 10,
        "expected the 9 paper presets and default.toml, found {n}"
    );
}

#[test]
fn memory_smaller_than_a_batch_is_rejected_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(dir.path(), "small-memory");
    cfg.memory.size = 5;
    let m = config_error(&cfg);
    assert!(m.contains("memory.size = 5") && m.contains("8"), "{m}");
    assert!(
        !dir.path().join("small-memory").exists(),
        "nothing may be written"
    );
}

#[test]
fn impossible_p_times_k_is_rejected_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(dir.path(), "big-p");
    cfg.data.classes_per_batch = 40; // the tiny dataset has 12 training classes
    cfg.memory.size = 80;
    let m = config_error(&cfg);
    assert!(m.contains("P × K = 40 × 2"), "{m}");
    assert!(!dir.path().join("big-p").exists());
}

#[test]
fn missing_weights_offline_are_rejected_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = train_common::tiny_config(dir.path(), "no-weights");
    cfg.model.weights = "hf:xbn-tests/does-not-exist".into();
    cfg.model.offline = true;
    match train(&cfg, false, Arc::new(AtomicBool::new(false))) {
        Err(e) => assert!(e.to_string().contains("does-not-exist"), "{e}"),
        Ok(_) => panic!("training ran without its weights"),
    }
    let mut cfg = train_common::tiny_config(dir.path(), "no-file");
    cfg.model.weights = dir.path().join("missing.safetensors").display().to_string();
    assert!(train(&cfg, false, Arc::new(AtomicBool::new(false))).is_err());
    assert!(!dir.path().join("no-weights").exists());
    assert!(!dir.path().join("no-file").exists());
}

#[test]
fn several_problems_are_reported_together() {
    let mut cfg = TrainConfig::default();
    cfg.data.images_per_class = 1;
    cfg.optim.lr_head = f64::NAN;
    cfg.loss.margin = f64::INFINITY;
    let err = xbn_train::config::validate::validate(&cfg)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("images_per_class") && err.contains("lr_head") && err.contains("loss.margin"),
        "{err}"
    );
}

/// The XBM, XBN and adaptive-XBN presets of a dataset are one experiment: they may differ only
/// in `run.name` and `[norm]`, and every key says where its value comes from.
#[test]
fn presets_of_a_dataset_differ_only_in_norm_and_name_every_key_with_its_source() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
    for dataset in ["sop", "inshop", "deepfashion2"] {
        let mut shared = Vec::new();
        for method in ["xbm", "xbn", "axbn"] {
            let path = format!("{dir}/{dataset}-{method}.toml");
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                let is_key = !line.is_empty() && !line.starts_with('#') && !line.starts_with('[');
                assert!(
                    !is_key || line.contains(" # "),
                    "{path}:{}: `{line}` does not name its source",
                    n + 1
                );
            }
            let mut table: toml::Table = toml::from_str(&text).unwrap();
            let norm = table.remove("norm").expect("[norm]");
            assert!(norm.get("kind").is_some(), "{path}: [norm] without kind");
            let run = table.get_mut("run").and_then(|r| r.as_table_mut()).unwrap();
            assert_eq!(
                run.remove("name")
                    .and_then(|v| v.as_str().map(String::from)),
                Some(format!("{dataset}-{method}")),
                "{path}: run.name"
            );
            shared.push((path, table, norm));
        }
        for (path, table, norm) in &shared[1..] {
            assert_eq!(
                table, &shared[0].1,
                "{path} differs from {} outside [norm]",
                shared[0].0
            );
            let (mut a, mut b) = (norm.clone(), shared[0].2.clone());
            for t in [&mut a, &mut b] {
                t.as_table_mut().unwrap().remove("kind");
            }
            assert_eq!(a, b, "{path}: [norm] differs in more than kind");
        }
    }
}
