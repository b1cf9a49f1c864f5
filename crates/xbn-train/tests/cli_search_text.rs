//! `index --texts` and `search --text/--texts` through the binary, on a tiny random BERT (the
//! tokenizer fixture of xbn-data, no weights) trained for 3 iterations: each text finds itself
//! first with similarity 1; images for a text model are refused.

mod train_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use xbn_train::commands::catalogue::{Catalogue, EntryKind};
use xbn_train::config::Backbone;

const WORDS: [&str; 12] = [
    "red", "blue", "green", "shoe", "hat", "shirt", "bag", "small", "large", "old", "new", "wool",
];

fn xbn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xbn-train"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A text run trained for 3 iterations on 12 classes of 4 texts: `dir/run`, and its texts.
fn text_run(dir: &Path) -> (PathBuf, Vec<String>) {
    let model = dir.join("tiny-bert");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(
        model.join("config.json"),
        r#"{"vocab_size": 180, "hidden_size": 16, "num_hidden_layers": 1,
            "num_attention_heads": 2, "intermediate_size": 32, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
            "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
            "model_type": "bert"}"#,
    )
    .unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xbn-data/tests/fixtures/text/tokenizer.json");
    std::fs::copy(fixture, model.join("tokenizer.json")).unwrap();
    let mut texts = Vec::new();
    let mut lines = String::new();
    for c in 0..12 {
        for i in 0..4 {
            let t = format!(
                "{} {} {}",
                WORDS[c],
                WORDS[(c + 1 + i) % 12],
                WORDS[(5 * c + 3 * i) % 12]
            );
            lines.push_str(&format!("{{\"text\": \"{t}\", \"label\": \"c{c:02}\"}}\n"));
            texts.push(t);
        }
    }
    std::fs::write(dir.join("data.jsonl"), lines).unwrap();
    let mut cfg = train_common::tiny_config(dir, "run");
    cfg.data.dataset = "jsonl".into();
    cfg.data.root = dir.join("data.jsonl");
    cfg.model.backbone = Backbone::Bert;
    cfg.model.weights = model.display().to_string();
    cfg.model.embedding_dim = 8;
    cfg.model.max_length = 16;
    cfg.memory.size = 16;
    cfg.run.iterations = 3;
    cfg.run.eval_every = 0;
    cfg.run.measure_drift = 0;
    cfg.run.eval_untrained = false;
    xbn_train::train::train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    (dir.join("run"), texts)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn texts_find_themselves_and_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (run, texts) = text_run(dir.path());
    // Distinct texts only: a duplicate would tie with itself.
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    let file = dir.path().join("catalogue.txt");
    std::fs::write(&file, unique.join("\n") + "\n").unwrap();
    let cat = dir.path().join("texts.safetensors");
    let out = xbn(&[
        "index",
        "--run",
        s(&run),
        "--texts",
        s(&file),
        "-o",
        s(&cat),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} embeddings", unique.len())),
        "{stdout}"
    );
    let c = Catalogue::load(&cat).unwrap();
    assert_eq!(c.kind, EntryKind::Texts);
    assert_eq!(c.entries, unique);
    assert_eq!(c.labels, None);

    // Two queries on the command line and two from a file, in that order.
    let queries = dir.path().join("queries.txt");
    std::fs::write(&queries, format!("{}\n{}\n", unique[2], unique[3])).unwrap();
    let args = [
        "search",
        "--run",
        s(&run),
        "--index",
        s(&cat),
        "--text",
        &unique[0],
        "--text",
        &unique[1],
        "--texts",
        s(&queries),
        "--k",
        "2",
        "--json",
    ];
    let out = xbn(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["queries"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for (q, t) in results.iter().zip(&unique) {
        assert_eq!(q["query"], t.as_str());
        let first = &q["neighbours"][0];
        assert_eq!(first["text"], t.as_str(), "{q}");
        let sim = first["similarity"].as_f64().unwrap();
        assert!((sim - 1.0).abs() < 1e-4, "{t}: {sim}");
    }

    // An image query for a text model.
    let img = dir.path().join("x.png");
    image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
        .save(&img)
        .unwrap();
    let out = xbn(&["search", "--run", s(&run), "--index", s(&cat), s(&img)]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(e.contains("embeds texts, not images"), "{e}");
    // Texts and images together.
    let out = xbn(&[
        "search",
        "--run",
        s(&run),
        "--index",
        s(&cat),
        "--text",
        "red",
        s(&img),
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("search one kind at a time"), "{e}");

    // The run's test split: texts with their labels.
    let split = dir.path().join("split.safetensors");
    let out = xbn(&[
        "index",
        "--run",
        s(&run),
        "--split",
        "test",
        "-o",
        s(&split),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = Catalogue::load(&split).unwrap();
    assert_eq!(c.kind, EntryKind::Texts);
    assert_eq!(c.labels.as_ref().map(Vec::len), Some(c.len()));
    assert!(c.entries.iter().all(|e| texts.contains(e)));
}
