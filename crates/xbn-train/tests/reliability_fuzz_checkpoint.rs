//! Checkpoint loading fuzzed with `proptest`: arbitrary bytes and mutated valid checkpoints
//! (bit flips, overwritten, inserted and removed bytes, truncation, a forged header length)
//! go to `Checkpoint::from_bytes` and to the resume path. Requirements: no panic, no
//! allocation beyond the input's size, and a typed error naming the file (or, for a mutation
//! that changes nothing the checksum covers, such as header padding, a checkpoint that loads).
//!
//! `XBN_FUZZ_CASES` sets the number of cases per property (defaults 20 000 / 10 000 / 1000:
//! about 10 s in all here).

mod train_common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use candle_core::Device;
use proptest::prelude::*;
use xbn_train::TrainError;
use xbn_train::checkpoint::{Checkpoint, LAST, rotate::PREV};
use xbn_train::train::train;

fn cases(default: u32) -> u32 {
    std::env::var("XBN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A real checkpoint of a tiny run stopped at iteration 2, with its folder (kept for the
/// whole test binary).
fn stopped_run() -> &'static (tempfile::TempDir, xbn_train::config::TrainConfig, Vec<u8>) {
    static RUN: OnceLock<(tempfile::TempDir, xbn_train::config::TrainConfig, Vec<u8>)> =
        OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = train_common::tiny_config(dir.path(), "seed");
        cfg.run.iterations = 3;
        cfg.run.stop_after = 2;
        cfg.run.eval_untrained = false;
        cfg.run.eval_every = 0;
        cfg.run.measure_drift = 0;
        train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
        let bytes = std::fs::read(dir.path().join("seed").join(LAST)).unwrap();
        cfg.run.stop_after = 0;
        (dir, cfg, bytes)
    })
}

/// Checks that `result` is Ok or one of the checkpoint errors naming `path`.
fn assert_typed<T>(result: Result<T, TrainError>, path: &Path) {
    if let Err(e) = result {
        let named = match &e {
            TrainError::Checkpoint { path: p, .. }
            | TrainError::CheckpointDamaged { path: p, .. } => p == path,
            _ => false,
        };
        assert!(
            named,
            "not a checkpoint error naming {}: {e:?}",
            path.display()
        );
    }
}

/// One change to a valid file.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
    Truncate { keep: usize },
    HeaderLength(u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (at, any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (at, proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        at.prop_map(|keep| Mutation::Truncate { keep }),
        prop_oneof![
            Just(u64::MAX),
            Just(1_000_000_000_000u64),
            Just(100_000_001u64),
            0u64..4096
        ]
        .prop_map(Mutation::HeaderLength),
    ]
}

fn apply(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in mutations {
        let n = b.len().max(1);
        match m {
            Mutation::Flip { at, bit } => {
                if !b.is_empty() {
                    b[at % n] ^= 1 << bit;
                }
            }
            Mutation::Set { at, byte } => {
                if !b.is_empty() {
                    b[at % n] = *byte;
                }
            }
            Mutation::Insert { at, bytes } => {
                let at = at % (b.len() + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Remove { at, len } => {
                let at = at % n;
                let end = (at + len).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Mutation::Truncate { keep } => b.truncate(keep % n),
            Mutation::HeaderLength(len) => {
                if b.len() >= 8 {
                    b[..8].copy_from_slice(&len.to_le_bytes());
                }
            }
        }
    }
    b
}

fn here() -> PathBuf {
    PathBuf::from("fuzzed.safetensors")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(20_000), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let result = Checkpoint::from_bytes(&bytes, &here(), &Device::Cpu);
        prop_assert!(result.is_err());
        assert_typed(result, &here());
    }

    #[test]
    fn a_forged_safetensors_header_is_a_typed_error(
        header in "\\{(\"[a-z.]{1,8}\":\\{\"dtype\":\"(F32|I64|U8|BF16|F64|XX)\",\"shape\":\\[[0-9]{1,13}(,[0-9]{1,13}){0,2}\\],\"data_offsets\":\\[[0-9]{1,13},[0-9]{1,13}\\]\\},?){0,3}(\"__metadata__\":\\{\"sha256\":\"[0-9a-f]{0,64}\"\\})?\\}",
        data in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&data);
        assert_typed(Checkpoint::from_bytes(&bytes, &here(), &Device::Cpu), &here());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(10_000), ..ProptestConfig::default() })]

    #[test]
    fn a_mutated_checkpoint_is_a_typed_error(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let (_, _, valid) = stopped_run();
        let bytes = apply(valid, &mutations);
        let result = Checkpoint::from_bytes(&bytes, &here(), &Device::Cpu);
        if bytes != *valid {
            if let Ok(ck) = &result {
                // Only the header's padding or whitespace may change without notice.
                let original = Checkpoint::from_bytes(valid, &here(), &Device::Cpu).unwrap();
                prop_assert_eq!(&ck.metadata, &original.metadata);
            }
        }
        assert_typed(result, &here());
    }
}

proptest! {
    // Each case opens a training session: fewer cases.
    #![proptest_config(ProptestConfig { cases: cases(1000), ..ProptestConfig::default() })]

    #[test]
    fn resuming_from_a_mutated_checkpoint_never_panics(
        last in proptest::collection::vec(mutation(), 1..3),
        prev in proptest::option::of(proptest::collection::vec(mutation(), 0..3)),
    ) {
        let (_, cfg, valid) = stopped_run();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = cfg.clone();
        cfg.run.output_dir = dir.path().to_path_buf();
        let run = dir.path().join(&cfg.run.name);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join(LAST), apply(valid, &last)).unwrap();
        if let Some(prev) = &prev {
            std::fs::write(run.join(PREV), apply(valid, prev)).unwrap();
        }
        match train(&cfg, true, Arc::new(AtomicBool::new(false))) {
            Ok(out) => prop_assert_eq!(out.iterations, 3),
            Err(e) => {
                let text = e.to_string();
                prop_assert!(
                    matches!(e, TrainError::Checkpoint { .. } | TrainError::CheckpointDamaged { .. }),
                    "{text}"
                );
                prop_assert!(text.contains(LAST), "{text}");
            }
        }
    }
}

#[test]
fn a_header_claiming_a_trillion_bytes_is_refused_before_allocating() {
    let (_, _, valid) = stopped_run();
    for claim in [1_000_000_000_000u64, u64::MAX, 100_000_001] {
        let bytes = apply(valid, &[Mutation::HeaderLength(claim)]);
        let err = Checkpoint::from_bytes(&bytes, &here(), &Device::Cpu).unwrap_err();
        assert!(matches!(err, TrainError::Checkpoint { .. }), "{err}");
    }
    // A tensor whose shape claims 10^12 elements in a few bytes of data.
    let header = r#"{"t":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0u8; 8]);
    let err = Checkpoint::from_bytes(&bytes, &here(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, TrainError::Checkpoint { .. }), "{err}");
}
