//! The `jsonl` reader: one JSON object per line, `{"text", "label", "split"?}`.

mod readers_support;

use std::path::{Path, PathBuf};

use readers_support::{assert_dense_disjoint, text_of_item, write_text};
use xbn_data::{DataError, DatasetIndex, DatasetKind, LoadOptions, Role, Split, load_dataset};

fn load(root: &Path) -> xbn_data::Result<DatasetIndex> {
    load_dataset(DatasetKind::Jsonl, root, &LoadOptions::default())
}

/// Writes `lines` (joined with newlines) to `dir/name`.
fn write_lines(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    write_text(&path, &(lines.join("\n") + "\n"));
    path
}

fn labels(index: &DatasetIndex) -> Vec<u32> {
    index.items.iter().map(|i| i.label).collect()
}

/// The error of loading `lines`, checked to name `file:line`.
fn error_at(lines: &[&str], line: usize, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_lines(dir.path(), "bad.jsonl", lines);
    let err = load(&path).unwrap_err();
    assert!(
        matches!(&err, DataError::Parse { line: l, .. } if *l == line),
        "expected a parse error on line {line}, got {err:?}"
    );
    let message = err.to_string();
    let at = format!("{}:{line}:", path.display());
    assert!(message.starts_with(&at), "{message} should start with {at}");
    assert!(
        message.contains(needle),
        "{message} should mention {needle:?}"
    );
}

const GOOD: &str = r#"{"text": "fine", "label": "x"}"#;

#[test]
fn without_splits_classes_split_by_fraction_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"text": "a dog", "label": "dog", "id": 17}"#,
        r#"{"text": "an ant", "label": "ant"}"#,
        "",
        r#"{"text": "a cat", "label": "cat"}"#,
        r#"{"text": "another dog", "label": "dog"}"#,
        r#"{"text": "  a bee  ", "label": "bee"}"#,
    ];
    write_lines(dir.path(), "data.jsonl", &lines);
    // The folder holding data.jsonl is a root, as is the file itself.
    let index = load(dir.path()).unwrap();
    assert_eq!(index.name, "jsonl");
    // Sorted labels: ant 0, bee 1 (train) | cat 2, dog 3 (test); items in file order.
    assert_eq!(labels(&index), [3, 0, 2, 3, 1]);
    assert_eq!(index.split_indices(Split::Train), [1, 4]);
    assert_eq!(index.role_indices(Role::QueryAndReference), [0, 2, 3]);
    assert_dense_disjoint(&index);
    let (text, origin) = text_of_item(&index, 2);
    assert_eq!(text, "a cat");
    assert_eq!(
        origin,
        format!("{}:4", dir.path().join("data.jsonl").display())
    );
    assert_eq!(text_of_item(&index, 4).0, "  a bee  ");
    let by_file = load(&dir.path().join("data.jsonl")).unwrap();
    assert_eq!(labels(&by_file), labels(&index));
}

#[test]
fn integer_labels_sort_numerically_and_mixed_ones_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let ints = write_lines(
        dir.path(),
        "ints.jsonl",
        &[
            r#"{"text": "t", "label": 10}"#,
            r#"{"text": "t", "label": 9}"#,
            r#"{"text": "t", "label": -1}"#,
            r#"{"text": "t", "label": 100}"#,
        ],
    );
    // Numeric order: -1, 9 | 10, 100.
    assert_eq!(labels(&load(&ints).unwrap()), [2, 1, 0, 3]);
    let mixed = write_lines(
        dir.path(),
        "mixed.jsonl",
        &[
            r#"{"text": "t", "label": 10}"#,
            r#"{"text": "t", "label": "9"}"#,
            r#"{"text": "t", "label": 100}"#,
            r#"{"text": "t", "label": "b"}"#,
            r#"{"text": "t", "label": "10"}"#,
        ],
    );
    // Text order: "10", "100" | "9", "b"; integer 10 and "10" are one class.
    assert_eq!(labels(&load(&mixed).unwrap()), [0, 2, 1, 3, 0]);
}

#[test]
fn explicit_splits_are_used_and_must_be_class_disjoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_lines(
        dir.path(),
        "s.jsonl",
        &[
            r#"{"text": "t1", "label": "zebra", "split": "train"}"#,
            r#"{"text": "t2", "label": "ant", "split": "test"}"#,
            r#"{"text": "t3", "label": "yak", "split": "train"}"#,
            r#"{"text": "t4", "label": "bee", "split": "test"}"#,
            r#"{"text": "t5", "label": "zebra", "split": "train"}"#,
        ],
    );
    let index = load(&path).unwrap();
    // Training classes first (yak 0, zebra 1), then the test classes (ant 2, bee 3).
    assert_eq!(labels(&index), [1, 2, 0, 3, 1]);
    assert_eq!(index.split_indices(Split::Train), [0, 2, 4]);
    assert_dense_disjoint(&index);

    error_at(
        &[
            r#"{"text": "t1", "label": "a", "split": "train"}"#,
            r#"{"text": "t2", "label": "b", "split": "test"}"#,
            r#"{"text": "t3", "label": "a", "split": "test"}"#,
        ],
        3,
        "class-disjoint",
    );
}

#[test]
fn splits_on_all_lines_or_none() {
    error_at(
        &[
            r#"{"text": "t", "label": "a", "split": "train"}"#,
            "",
            r#"{"text": "t", "label": "b"}"#,
        ],
        3,
        "line 1",
    );
    error_at(
        &[
            r#"{"text": "t", "label": "a"}"#,
            r#"{"text": "t", "label": "b", "split": "test"}"#,
        ],
        2,
        "either every line has a split or none",
    );
}

#[test]
fn bad_lines_are_named() {
    error_at(&[GOOD, "{not json"], 2, "invalid JSON");
    error_at(&[GOOD, GOOD, "[1, 2]"], 3, "expected a JSON object");
    error_at(&[r#"{"label": "x"}"#], 1, "missing field `text`");
    error_at(
        &[GOOD, r#"{"text": 5, "label": "x"}"#],
        2,
        "`text` must be a string",
    );
    error_at(&[r#"{"text": " ", "label": "x"}"#], 1, "`text` is empty");
    error_at(&[GOOD, r#"{"text": "t"}"#], 2, "missing field `label`");
    error_at(
        &[r#"{"text": "t", "label": 1.5}"#],
        1,
        "string or an integer",
    );
    error_at(
        &[r#"{"text": "t", "label": [1]}"#],
        1,
        "string or an integer",
    );
    error_at(&[r#"{"text": "t", "label": ""}"#], 1, "`label` is empty");
    error_at(
        &[r#"{"text": "t", "label": "x", "split": "val"}"#],
        1,
        "unknown split \"val\"",
    );
}

#[test]
fn invalid_utf8_empty_files_and_one_class_splits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.jsonl");
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend(b"{\"text\": \"\xfe\", \"label\": \"x\"}\n");
    std::fs::write(&path, bytes).unwrap();
    let err = load(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2: invalid UTF-8", path.display())),
        "{err}"
    );

    let empty = write_lines(dir.path(), "empty.jsonl", &["", "  "]);
    let err = load(&empty).unwrap_err();
    assert!(err.to_string().contains("empty dataset"), "{err}");

    let one_test_class = write_lines(
        dir.path(),
        "few.jsonl",
        &[
            r#"{"text": "t", "label": "a", "split": "train"}"#,
            r#"{"text": "t", "label": "b", "split": "train"}"#,
            r#"{"text": "t", "label": "c", "split": "test"}"#,
        ],
    );
    let err = load(&one_test_class).unwrap_err();
    assert!(
        err.to_string().contains("the test split has 1 class;"),
        "{err}"
    );

    let missing = load(&dir.path().join("nowhere.jsonl")).unwrap_err();
    assert!(matches!(missing, DataError::Io { .. }), "{missing:?}");
    assert!(missing.to_string().contains("nowhere.jsonl"), "{missing}");
}
