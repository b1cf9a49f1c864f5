//! Text end to end: a tiny random BERT (the checkpoint folder holds `config.json` and a tiny
//! WordPiece `tokenizer.json`, no weights) trains on a `jsonl` dataset with XBM and adaptive XBN,
//! evaluates, measures drift, resumes exactly, and `embed --texts` gives the embeddings the
//! dataset path gives.

mod train_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device};
use xbn_train::checkpoint::{self, Checkpoint};
use xbn_train::config::{Backbone, TrainConfig};
use xbn_train::outputs::metrics::{MetricsRecord, read_records};
use xbn_train::train::train;

const WORDS: [&str; 16] = [
    "red", "blue", "green", "shoe", "hat", "shirt", "bag", "small", "large", "old", "new",
    "cotton", "leather", "wool", "soft", "bright",
];

/// A checkpoint folder of a tiny random BERT: `config.json` and the tokenizer fixture.
fn tiny_bert(dir: &Path) -> PathBuf {
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(
        model.join("config.json"),
        r#"{"vocab_size": 180, "hidden_size": 16, "num_hidden_layers": 2,
            "num_attention_heads": 2, "intermediate_size": 32, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
            "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
            "model_type": "bert"}"#,
    )
    .unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xbn-data/tests/fixtures/text/tokenizer.json");
    std::fs::copy(fixture, model.join("tokenizer.json")).unwrap();
    model
}

/// `data.jsonl`: 16 classes of 4 texts; class `c`'s texts share two words.
fn texts(dir: &Path) -> (PathBuf, Vec<(String, usize)>) {
    let mut rows = Vec::new();
    let mut lines = String::new();
    for c in 0..16 {
        for i in 0..4 {
            let text = format!(
                "{} {} {} {}",
                WORDS[c],
                WORDS[(c + 1 + i) % 16],
                WORDS[(3 * c + 5) % 16],
                WORDS[(c + 7 * i) % 16]
            );
            lines.push_str(&format!(
                "{{\"text\": \"{text}\", \"label\": \"class{c:02}\"}}\n"
            ));
            rows.push((text, c));
        }
    }
    let path = dir.join("data.jsonl");
    std::fs::write(&path, lines).unwrap();
    (path, rows)
}

fn text_config(dir: &Path, name: &str) -> TrainConfig {
    let mut c = train_common::tiny_config(dir, name);
    let (data, _) = texts(dir);
    c.data.dataset = "jsonl".into();
    c.data.root = data;
    c.model.backbone = Backbone::Bert;
    c.model.weights = tiny_bert(dir).display().to_string();
    c.model.embedding_dim = 0;
    c.model.max_length = 16;
    c.memory.size = 16;
    c
}

fn comparable(mut recs: Vec<MetricsRecord>) -> Vec<MetricsRecord> {
    for r in &mut recs {
        r.images_per_s = 0.0;
    }
    recs
}

#[test]
fn a_text_run_trains_measures_drift_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let no_stop = || Arc::new(AtomicBool::new(false));
    let mut straight = text_config(dir.path(), "straight");
    straight.run.iterations = 8;
    straight.run.eval_every = 4;
    straight.run.checkpoint_every = 4;
    straight.run.measure_drift = 3;
    let out = train(&straight, false, no_stop()).unwrap();
    assert_eq!(out.iterations, 8);
    let recs = read_records(&dir.path().join("straight/metrics.jsonl")).unwrap();
    assert!(recs.iter().any(|r| r.drift.is_some()), "drift measured");
    let last = recs.iter().rev().find_map(|r| r.eval.clone()).unwrap();
    assert!(last["recall@1"] > 0.0 && last["recall@1"] <= 1.0);

    let mut first = straight.clone();
    first.run.name = "resumed".into();
    first.run.stop_after = 4;
    assert!(train(&first, false, no_stop()).unwrap().interrupted);
    let mut second = first.clone();
    second.run.stop_after = 0;
    assert_eq!(train(&second, true, no_stop()).unwrap().iterations, 8);

    let a = comparable(recs);
    let b = comparable(read_records(&dir.path().join("resumed/metrics.jsonl")).unwrap());
    assert_eq!(a, b);
    let load = |run: &str| {
        Checkpoint::load(&dir.path().join(run).join(checkpoint::LAST), &Device::Cpu).unwrap()
    };
    let (ca, cb) = (load("straight"), load("resumed"));
    let mut keys: Vec<_> = ca.tensors.keys().cloned().collect();
    keys.sort();
    assert!(
        keys.iter()
            .any(|k| k == "model.encoder.layer.1.output.LayerNorm.weight")
    );
    for k in keys {
        let flat = |c: &Checkpoint| -> Vec<f64> {
            c.tensors[&k]
                .to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        assert_eq!(flat(&ca), flat(&cb), "{k}");
    }
}

#[test]
fn embed_texts_gives_the_embeddings_of_the_dataset_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = text_config(dir.path(), "run");
    cfg.run.iterations = 3;
    cfg.model.embedding_dim = 8; // with a linear head
    train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    let run = dir.path().join("run");

    let split = dir.path().join("test.safetensors");
    let xbn = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_xbn-train"))
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    xbn(&[
        "embed",
        "--run",
        run.to_str().unwrap(),
        "-o",
        split.to_str().unwrap(),
    ]);
    let (by_split, labels) = xbn_train::outputs::embeddings::load_embeddings(&split).unwrap();

    // The test split's texts, in the dataset's order, one per line.
    let (_, rows) = texts(dir.path());
    let index = xbn_data::load_dataset(
        xbn_data::DatasetKind::Jsonl,
        &cfg.data.root,
        &xbn_data::LoadOptions::default(),
    )
    .unwrap();
    let test: Vec<&str> = index
        .split_indices(xbn_data::Split::Test)
        .into_iter()
        .map(|i| xbn_data::text::text_of(&index.items[i]).unwrap())
        .collect();
    assert_eq!(test.len(), labels.len());
    assert!(test.iter().all(|t| rows.iter().any(|(r, _)| r == t)));
    let file = dir.path().join("texts.txt");
    std::fs::write(&file, test.join("\n") + "\n").unwrap();
    let out_file = dir.path().join("texts.safetensors");
    let stdout = xbn(&[
        "embed",
        "--run",
        run.to_str().unwrap(),
        "--texts",
        file.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains(&format!("{} embeddings", test.len())),
        "{stdout}"
    );
    let tensors = candle_core::safetensors::load(&out_file, &Device::Cpu).unwrap();
    assert!(!tensors.contains_key("labels"));
    let by_texts = tensors["embeddings"].to_vec2::<f32>().unwrap();
    let by_split = by_split.to_vec2::<f32>().unwrap();
    assert_eq!(by_texts.len(), by_split.len());
    assert_eq!(by_texts[0].len(), 8);
    for (a, b) in by_texts.iter().zip(&by_split) {
        for (x, y) in a.iter().zip(b) {
            // Batches are padded differently; padding changes nothing beyond rounding.
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }
}

#[test]
fn a_text_dataset_for_an_image_backbone_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = text_config(dir.path(), "mismatch");
    cfg.model.backbone = Backbone::SmallCnn;
    cfg.model.weights = String::new();
    cfg.model.embedding_dim = 8;
    let err = train(&cfg, false, Arc::new(AtomicBool::new(false)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds texts") && err.contains("embeds images"),
        "{err}"
    );

    let mut cfg = text_config(dir.path(), "no-weights");
    cfg.model.weights = String::new();
    let err = train(&cfg, false, Arc::new(AtomicBool::new(false)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs model.weights"), "{err}");
}
