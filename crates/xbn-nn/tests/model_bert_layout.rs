//! The sentence-transformers layout reader: what it reads from a checkpoint folder, and the
//! folders it refuses (missing files, a module it does not reproduce, an unsupported or ambiguous
//! pooling), each error naming the file at fault.

use std::path::Path;

use xbn_nn::model::{SentenceLayout, TokenPooling};

fn folder(dir: &Path, modules: Option<&str>, pooling: Option<&str>) {
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    std::fs::write(dir.join("tokenizer.json"), "{}").unwrap();
    if let Some(m) = modules {
        std::fs::write(dir.join("modules.json"), m).unwrap();
    }
    if let Some(p) = pooling {
        std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        std::fs::write(dir.join("1_Pooling/config.json"), p).unwrap();
    }
}

const MODULES: &str = r#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#;

fn err(dir: &Path) -> String {
    SentenceLayout::read(dir).unwrap_err().to_string()
}

#[test]
fn reads_pooling_and_max_length_and_takes_a_file_in_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    folder(
        dir.path(),
        Some(MODULES),
        Some(r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#),
    );
    std::fs::write(
        dir.path().join("sentence_bert_config.json"),
        r#"{"max_seq_length": 77}"#,
    )
    .unwrap();
    let layout = SentenceLayout::read(&dir.path().join("config.json")).unwrap();
    assert_eq!(layout.pooling, Some(TokenPooling::Cls));
    assert_eq!(layout.max_seq_length, Some(77));
    assert_eq!(layout.weights, None, "no model.safetensors in the folder");
    assert_eq!(layout.dir, dir.path());

    // A plain Hugging Face folder: no pooling config, no max_seq_length.
    let plain = tempfile::tempdir().unwrap();
    folder(plain.path(), None, None);
    let layout = SentenceLayout::read(plain.path()).unwrap();
    assert_eq!((layout.pooling, layout.max_seq_length), (None, None));
}

#[test]
fn refuses_what_it_cannot_reproduce_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let e = err(dir.path());
    assert!(e.contains("tokenizer.json"), "{e}");

    let dense = MODULES.replace("models.Normalize", "models.Dense");
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), Some(&dense), None);
    let e = err(dir.path());
    assert!(e.contains("modules.json") && e.contains("`Dense`"), "{e}");

    for (pooling, says) in [
        (
            r#"{"pooling_mode_max_tokens": true}"#,
            "pooling_mode_max_tokens",
        ),
        (
            r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}"#,
            "2 pooling modes",
        ),
        (r#"{"pooling_mode_mean_tokens": false}"#, "no pooling mode"),
        ("not json", "invalid JSON"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        folder(dir.path(), Some(MODULES), Some(pooling));
        let e = err(dir.path());
        assert!(
            e.contains("1_Pooling") && e.contains(says),
            "{pooling}: {e}"
        );
    }
}
