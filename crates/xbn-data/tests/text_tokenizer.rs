//! `TextTokenizer` against the Python reference: the ids and masks Hugging Face `transformers`
//! gives for sentence-transformers' call on the same `tokenizer.json`
//! (`reference/make_text_fixture.py` wrote both files).

use std::path::{Path, PathBuf};

use xbn_data::DataError;
use xbn_data::text::TextTokenizer;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/text")
        .join(name)
}

#[derive(serde::Deserialize)]
struct Case {
    max_length: usize,
    texts: Vec<String>,
    input_ids: Vec<Vec<u32>>,
    attention_mask: Vec<Vec<u32>>,
}

#[derive(serde::Deserialize)]
struct Expected {
    pad_id: u32,
    cases: Vec<Case>,
}

fn expected() -> Expected {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn flat(rows: &[Vec<u32>]) -> Vec<u32> {
    rows.iter().flatten().copied().collect()
}

/// Writes the fixture tokenizer with its JSON changed by `edit` into `dir`.
fn edited(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let text = std::fs::read_to_string(fixture("tokenizer.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut json);
    let path = dir.join("tokenizer.json");
    std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    path
}

#[test]
fn matches_the_python_tokenizer_call() {
    let expected = expected();
    assert!(expected.cases.len() >= 4);
    for case in &expected.cases {
        let tokenizer =
            TextTokenizer::from_file(&fixture("tokenizer.json"), case.max_length).unwrap();
        let texts: Vec<&str> = case.texts.iter().map(String::as_str).collect();
        let batch = tokenizer.encode(&texts).unwrap();
        assert_eq!(batch.rows, case.texts.len());
        assert_eq!(batch.len, case.input_ids[0].len(), "{:?}", case.texts);
        assert_eq!(batch.ids, flat(&case.input_ids), "{:?}", case.texts);
        assert_eq!(batch.mask, flat(&case.attention_mask), "{:?}", case.texts);
        assert_eq!(tokenizer.pad_id(), expected.pad_id);
    }
}

#[test]
fn tensors_have_the_batch_shape() {
    let case = &expected().cases[1];
    let tokenizer = TextTokenizer::from_file(&fixture("tokenizer.json"), case.max_length).unwrap();
    let texts: Vec<&str> = case.texts.iter().map(String::as_str).collect();
    let (ids, mask) = tokenizer
        .encode(&texts)
        .unwrap()
        .to_tensors(&candle_core::Device::Cpu)
        .unwrap();
    assert_eq!(ids.dtype(), candle_core::DType::U32);
    assert_eq!(mask.dtype(), candle_core::DType::U32);
    assert_eq!(ids.to_vec2::<u32>().unwrap(), case.input_ids);
    assert_eq!(mask.to_vec2::<u32>().unwrap(), case.attention_mask);
    let empty = tokenizer.encode(&[]).unwrap();
    assert_eq!((empty.rows, empty.len), (0, 0));
    assert_eq!(
        empty
            .to_tensors(&candle_core::Device::Cpu)
            .unwrap()
            .0
            .dims(),
        [0, 0]
    );
}

#[test]
fn is_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TextTokenizer>();
    let case = &expected().cases[0];
    let tokenizer = TextTokenizer::from_file(&fixture("tokenizer.json"), case.max_length).unwrap();
    let texts: Vec<&str> = case.texts.iter().map(String::as_str).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| s.spawn(|| tokenizer.encode(&texts).unwrap().ids))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), flat(&case.input_ids));
        }
    });
}

#[test]
fn pad_id_comes_from_the_padding_config_else_from_pad_token() {
    let dir = tempfile::tempdir().unwrap();
    let case = &expected().cases[1];
    let texts: Vec<&str> = case.texts.iter().map(String::as_str).collect();
    // The file's padding configuration says 4: padding positions hold 4.
    let path = edited(dir.path(), |j| j["padding"]["pad_id"] = 4.into());
    let batch = TextTokenizer::from_file(&path, case.max_length)
        .unwrap()
        .encode(&texts)
        .unwrap();
    let want: Vec<u32> = flat(&case.input_ids)
        .into_iter()
        .zip(flat(&case.attention_mask))
        .map(|(id, m)| if m == 0 { 4 } else { id })
        .collect();
    assert_eq!(batch.ids, want);
    // No padding configuration: the id of [PAD] (3 in the fixture), as Python padded.
    let path = edited(dir.path(), |j| j["padding"] = serde_json::Value::Null);
    let tokenizer = TextTokenizer::from_file(&path, case.max_length).unwrap();
    assert_eq!(tokenizer.encode(&texts).unwrap().ids, flat(&case.input_ids));
    // Neither: an error naming the file.
    let path = edited(dir.path(), |j| {
        j["padding"] = serde_json::Value::Null;
        let vocab = j["model"]["vocab"].as_object_mut().unwrap();
        let id = vocab.remove("[PAD]").unwrap();
        vocab.insert("[NOPAD]".into(), id);
        for token in j["added_tokens"].as_array_mut().unwrap() {
            if token["content"] == "[PAD]" {
                token["content"] = "[NOPAD]".into();
            }
        }
    });
    let err = TextTokenizer::from_file(&path, 16).unwrap_err();
    assert!(matches!(err, DataError::Tokenizer { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("[PAD]"), "{message}");
}

#[test]
fn bad_files_and_lengths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for max_length in [0, 1] {
        let err = TextTokenizer::from_file(&fixture("tokenizer.json"), max_length).unwrap_err();
        assert!(matches!(err, DataError::Config(_)), "{err:?}");
        assert!(err.to_string().contains("max_length"), "{err}");
    }
    let missing = dir.path().join("missing.json");
    let err = TextTokenizer::from_file(&missing, 16).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.json"), "{err}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"version\": \"1.0\"}").unwrap();
    let err = TextTokenizer::from_file(&garbage, 16).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: tokenizer:", garbage.display())),
        "{err}"
    );
}
