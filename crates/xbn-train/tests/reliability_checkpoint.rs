//! Checkpoints prove they are intact: a checksum of the tensors is verified on load, the
//! previous checkpoint is kept and used when the last one is damaged, old checkpoints without
//! a checksum still load, and a configuration that changes the checkpoint's shapes is refused.

mod train_common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::{Device, Tensor};
use xbn_train::TrainError;
use xbn_train::checkpoint::rotate::{self, PREV};
use xbn_train::checkpoint::{self, Checkpoint, LAST, checksum};
use xbn_train::cli::TrainArgs;
use xbn_train::train::train;

fn no_stop() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

fn small_checkpoint() -> Checkpoint {
    let mut ck = Checkpoint::default();
    let t = Tensor::arange(0f32, 12.0, &Device::Cpu)
        .unwrap()
        .reshape((3, 4))
        .unwrap();
    ck.tensors.insert("model.w".into(), t);
    ck.tensors.insert(
        "optim.step".into(),
        Tensor::new(&[7i64], &Device::Cpu).unwrap(),
    );
    ck.metadata.insert("iteration".into(), "7".into());
    ck
}

/// Flips one bit of the last byte (tensor data) of a file.
fn damage_data(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

fn iteration(ck: &Checkpoint) -> usize {
    ck.metadata["iteration"].parse().unwrap()
}

#[test]
fn a_checkpoint_carries_a_checksum_that_is_verified_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.safetensors");
    small_checkpoint().save(&p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let sum = &header.metadata().as_ref().unwrap()[checksum::KEY];
    assert_eq!(sum.len(), 64, "{sum}");
    let back = Checkpoint::load(&p, &Device::Cpu).unwrap();
    assert_eq!(iteration(&back), 7);
    assert!(!back.metadata.contains_key(checksum::KEY));

    damage_data(&p);
    let err = Checkpoint::load(&p, &Device::Cpu).unwrap_err();
    assert!(
        matches!(&err, TrainError::CheckpointDamaged { path, .. } if path == &p),
        "{err}"
    );
    assert!(err.to_string().contains("c.safetensors"), "{err}");
}

/// Found by `reliability_fuzz_checkpoint::a_mutated_checkpoint_is_a_typed_error`: one byte
/// changed in the key `sha256` made the file look like an earlier version's, so it loaded
/// unverified.
#[test]
fn a_renamed_checksum_entry_is_damage_not_an_earlier_version() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.safetensors");
    small_checkpoint().save(&p).unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let key = format!("\"{}\"", checksum::KEY);
    let at = bytes
        .windows(key.len())
        .position(|w| w == key.as_bytes())
        .unwrap();
    bytes[at + 4] = b' '; // "sha256" -> "sha 56": the header stays valid JSON
    std::fs::write(&p, &bytes).unwrap();
    let err = Checkpoint::load(&p, &Device::Cpu).unwrap_err();
    assert!(
        matches!(&err, TrainError::Checkpoint { path, .. } if path == &p),
        "{err}"
    );
    assert!(err.to_string().contains("checksum entry"), "{err}");
}

#[test]
fn a_checkpoint_without_checksum_from_an_earlier_version_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("old.safetensors");
    let t = Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap();
    let meta = HashMap::from([("iteration".to_string(), "3".to_string())]);
    let bytes = safetensors::serialize([("model.w", &t)], Some(meta)).unwrap();
    std::fs::write(&p, bytes).unwrap();
    let ck = Checkpoint::load(&p, &Device::Cpu).unwrap();
    assert_eq!(iteration(&ck), 3);
    assert!(!ck.metadata.contains_key(checksum::KEY));
}

#[test]
fn a_file_that_is_not_a_checkpoint_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.safetensors");
    std::fs::write(&p, b"this is not a checkpoint").unwrap();
    let err = Checkpoint::load(&p, &Device::Cpu).unwrap_err();
    assert!(
        matches!(&err, TrainError::Checkpoint { path, .. } if path == &p),
        "{err}"
    );
    let missing = dir.path().join("absent.safetensors");
    let err = Checkpoint::load(&missing, &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("absent.safetensors"), "{err}");
}

#[test]
fn saving_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut ck = small_checkpoint();
    rotate::save_keeping_previous(&ck, dir.path(), true).unwrap();
    assert!(!dir.path().join(PREV).exists());
    ck.metadata.insert("iteration".into(), "8".into());
    rotate::save_keeping_previous(&ck, dir.path(), true).unwrap();
    let last = Checkpoint::load(&dir.path().join(LAST), &Device::Cpu).unwrap();
    let prev = Checkpoint::load(&dir.path().join(PREV), &Device::Cpu).unwrap();
    assert_eq!((iteration(&last), iteration(&prev)), (8, 7));
    // Without `keep_previous` (the last one is known to be damaged) the previous one stays.
    ck.metadata.insert("iteration".into(), "9".into());
    rotate::save_keeping_previous(&ck, dir.path(), false).unwrap();
    let prev = Checkpoint::load(&dir.path().join(PREV), &Device::Cpu).unwrap();
    assert_eq!(iteration(&prev), 7);
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_training_run_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = train_common::tiny_config(dir.path(), "rot");
    train(&cfg, false, no_stop()).unwrap();
    let run = dir.path().join("rot");
    let last = Checkpoint::load(&run.join(LAST), &Device::Cpu).unwrap();
    let prev = Checkpoint::load(&run.join(PREV), &Device::Cpu).unwrap();
    assert_eq!((iteration(&last), iteration(&prev)), (6, 3));
    assert_eq!(last.metadata["config.memory.size"], "24");
}

/// A run stopped after 3 iterations with a checkpoint every iteration: the last checkpoint is
/// at iteration 3, the previous at 2.
fn stopped_run(root: &Path) -> (xbn_train::config::TrainConfig, std::path::PathBuf) {
    let mut cfg = train_common::tiny_config(root, "stopped");
    cfg.run.checkpoint_every = 1;
    cfg.run.stop_after = 3;
    cfg.run.eval_untrained = false;
    assert!(train(&cfg, false, no_stop()).unwrap().interrupted);
    cfg.run.stop_after = 0;
    (cfg, root.join("stopped"))
}

#[test]
fn resume_falls_back_to_the_previous_checkpoint_when_the_last_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, run) = stopped_run(dir.path());
    damage_data(&run.join(LAST));
    let loaded = rotate::load_last_or_previous(&run, &Device::Cpu).unwrap();
    assert_eq!(loaded.path, run.join(PREV));
    assert_eq!(iteration(&loaded.checkpoint), 2);
    let why = loaded.fallback.unwrap();
    assert!(why.contains(LAST) && why.contains("damaged"), "{why}");

    let out = train(&cfg, true, no_stop()).unwrap();
    assert_eq!(out.iterations, 6);
    let log = std::fs::read_to_string(run.join("train.log")).unwrap();
    assert!(log.contains("warning") && log.contains(PREV), "{log}");
    // The run went on from iteration 2 and rewrote a good last checkpoint.
    let last = Checkpoint::load(&run.join(LAST), &Device::Cpu).unwrap();
    assert_eq!(iteration(&last), 6);
}

#[test]
fn resume_uses_the_previous_checkpoint_when_the_last_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, run) = stopped_run(dir.path());
    std::fs::remove_file(run.join(LAST)).unwrap();
    let out = train(&cfg, true, no_stop()).unwrap();
    assert_eq!(out.iterations, 6);
}

#[test]
fn resume_names_both_files_when_both_are_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, run) = stopped_run(dir.path());
    damage_data(&run.join(LAST));
    std::fs::write(run.join(PREV), b"garbage").unwrap();
    let err = train(&cfg, true, no_stop()).unwrap_err().to_string();
    assert!(err.contains(LAST) && err.contains(PREV), "{err}");
}

#[test]
fn resume_refuses_a_configuration_that_changes_the_checkpoint_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let (_, run) = stopped_run(dir.path());
    let args = TrainArgs {
        resume: Some(run.clone()),
        set: vec![
            "model.embedding_dim=32".into(),
            "memory.size=48".into(),
            "run.iterations=8".into(),
        ],
        ..TrainArgs::default()
    };
    let cfg = args.resolve_config().unwrap();
    let err = train(&cfg, true, no_stop()).unwrap_err();
    let TrainError::ConfigMismatch { differences, path } = &err else {
        panic!("expected a configuration mismatch, got {err}");
    };
    assert_eq!(path, &run.join(LAST));
    assert_eq!(
        differences,
        &vec![
            "model.embedding_dim: checkpoint 16, configuration 32".to_string(),
            "memory.size: checkpoint 24, configuration 48".to_string(),
        ]
    );
    // Keys that do not change shapes (here run.iterations) may change.
    let args = TrainArgs {
        resume: Some(run),
        set: vec!["run.iterations=8".into(), "run.stop_after=0".into()],
        ..TrainArgs::default()
    };
    let out = train(&args.resolve_config().unwrap(), true, no_stop()).unwrap();
    assert_eq!(out.iterations, 8);
}

#[test]
fn the_written_config_keys_are_those_of_the_run() {
    let cfg = train_common::tiny_config(Path::new("/tmp"), "x");
    let values = checkpoint::shape_keys::values(&cfg).unwrap();
    let get = |k: &str| values.iter().find(|(key, _)| *key == k).unwrap().1.clone();
    assert_eq!(get("model.channels"), "[8, 16]");
    assert_eq!(get("model.embedding_dim"), "16");
    assert_eq!(get("model.backbone"), "\"small-cnn\"");
}

/// What a kill during a checkpoint write leaves: a torn temporary file next to a complete
/// last checkpoint. The run resumes from the complete one and the next save replaces the
/// torn file.
#[test]
fn a_torn_temporary_file_left_by_a_killed_write_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, run) = stopped_run(dir.path());
    let whole = std::fs::read(run.join(LAST)).unwrap();
    let tmp = run.join(".checkpoint.safetensors.tmp");
    std::fs::write(&tmp, &whole[..whole.len() / 2]).unwrap();
    let loaded = rotate::load_last_or_previous(&run, &Device::Cpu).unwrap();
    assert_eq!((iteration(&loaded.checkpoint), loaded.fallback), (3, None));
    let out = train(&cfg, true, no_stop()).unwrap();
    assert_eq!(out.iterations, 6);
    assert!(!tmp.exists());
}

/// Outside `--resume` (`embed`, `index`, `report`), a damaged last checkpoint is named and the
/// intact previous one offered.
#[test]
fn a_damaged_last_checkpoint_names_itself_and_offers_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_, run) = stopped_run(dir.path());
    damage_data(&run.join(LAST));
    let err = Checkpoint::load(&run.join(LAST), &Device::Cpu)
        .unwrap_err()
        .to_string();
    let prev = run.join(PREV).display().to_string();
    assert!(err.contains(LAST) && err.contains("damaged"), "{err}");
    assert!(err.contains(&prev) && err.contains("--checkpoint"), "{err}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xbn-train"))
        .args(["embed", "--run"])
        .arg(&run)
        .arg("--output")
        .arg(dir.path().join("e.safetensors"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("damaged") && stderr.contains(&prev),
        "{stderr}"
    );
    // Following the advice works.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xbn-train"))
        .args(["embed", "--run"])
        .arg(&run)
        .arg("--checkpoint")
        .arg(run.join(PREV))
        .arg("--output")
        .arg(dir.path().join("e.safetensors"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
