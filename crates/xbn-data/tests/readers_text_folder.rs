//! The `text-folder` reader: `root/<class>/<file>.txt`, one sample per line or per file.

mod readers_support;

use readers_support::{assert_dense_disjoint, text_of_item, write_text};
use xbn_data::{DataError, DatasetKind, LoadOptions, Role, Split, TextUnit, load_dataset};

fn load(root: &std::path::Path, options: &LoadOptions) -> xbn_data::Result<xbn_data::DatasetIndex> {
    load_dataset(DatasetKind::TextFolder, root, options)
}

fn units(unit: TextUnit) -> LoadOptions {
    LoadOptions {
        text_unit: unit,
        ..LoadOptions::default()
    }
}

#[test]
fn lines_are_samples_classes_sorted_and_split_by_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_text(&root.join("owl/b.txt"), "night bird\n\n  hoots  \n");
    write_text(&root.join("owl/a.TXT"), "feathers\r\n");
    write_text(&root.join("cat/x.txt"), "purrs\nmeows\n");
    write_text(&root.join("dog/x.txt"), "barks\n");
    write_text(&root.join("ant/x.txt"), "tiny\n");
    write_text(&root.join("ant/notes.md"), "not a text sample\n");
    write_text(&root.join(".hidden/x.txt"), "hidden\n");
    write_text(&root.join("empty/blank.txt"), "\n  \n");
    let index = load(root, &LoadOptions::default()).unwrap();
    assert_eq!(index.name, "text-folder");
    let texts: Vec<String> = (0..index.items.len())
        .map(|i| text_of_item(&index, i).0)
        .collect();
    // ant, cat | dog, owl (round(0.5 · 4) = 2 train classes); files sorted, lines in order.
    assert_eq!(
        texts,
        [
            "tiny",
            "purrs",
            "meows",
            "barks",
            "feathers",
            "night bird",
            "hoots"
        ]
    );
    let labels: Vec<u32> = index.items.iter().map(|i| i.label).collect();
    assert_eq!(labels, [0, 1, 1, 2, 3, 3, 3]);
    assert_dense_disjoint(&index);
    assert_eq!(index.split_indices(Split::Train), [0, 1, 2]);
    assert_eq!(index.role_indices(Role::QueryAndReference), [3, 4, 5, 6]);
    let (_, origin) = text_of_item(&index, 6);
    assert_eq!(origin, format!("{}:3", root.join("owl/b.txt").display()));
    assert_eq!(index.items[6].source.describe(), origin);

    // Five classes, round(0.6 · 5) = 3 train: "dog" moves to the training split.
    write_text(&root.join("yak/x.txt"), "hairy\n");
    let options = LoadOptions {
        folder_train_fraction: 0.6,
        ..LoadOptions::default()
    };
    let index = load(root, &options).unwrap();
    assert_eq!(index.split_indices(Split::Train), [0, 1, 2, 3]);
    assert_dense_disjoint(&index);
}

#[test]
fn files_are_samples_with_the_file_unit() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_text(&root.join("a/1.txt"), "first line\nsecond line\n");
    write_text(&root.join("a/2.txt"), "other");
    write_text(&root.join("b/1.txt"), "  b text \n");
    write_text(&root.join("c/1.txt"), "c");
    write_text(&root.join("d/1.txt"), "d");
    let index = load(root, &units(TextUnit::File)).unwrap();
    assert_eq!(index.items.len(), 5);
    let (text, origin) = text_of_item(&index, 0);
    assert_eq!(text, "first line\nsecond line");
    assert_eq!(origin, root.join("a/1.txt").display().to_string());
    assert_eq!(text_of_item(&index, 2).0, "b text");

    write_text(&root.join("d/2.txt"), " \n\n");
    let err = load(root, &units(TextUnit::File)).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("d/2.txt:1") && message.contains("empty"),
        "{message}"
    );
}

#[test]
fn train_and_test_subfolders_are_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_text(&root.join("train/zebra/1.txt"), "stripes\n");
    write_text(&root.join("train/yak/1.txt"), "hair\n");
    write_text(&root.join("test/bee/1.txt"), "buzz\n");
    write_text(&root.join("test/ant/1.txt"), "small\n");
    let index = load(root, &LoadOptions::default()).unwrap();
    let texts: Vec<String> = (0..4).map(|i| text_of_item(&index, i).0).collect();
    assert_eq!(texts, ["hair", "stripes", "small", "buzz"]);
    assert_eq!(
        index.items.iter().map(|i| i.label).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(index.split_indices(Split::Test), [2, 3]);
    assert_dense_disjoint(&index);

    write_text(&root.join("test/yak/2.txt"), "again\n");
    let err = load(root, &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("class-disjoint"), "{err}");
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for class in ["a", "b", "c"] {
        write_text(&root.join(class).join("1.txt"), "fine\n");
    }
    let bad = root.join("d/1.txt");
    write_text(&bad, "");
    std::fs::write(&bad, b"good line\nbad \xff byte\n").unwrap();
    let err = load(root, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Parse { line: 2, .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}:2", bad.display())),
        "{message}"
    );
    assert!(message.contains("UTF-8"), "{message}");
}

#[test]
fn empty_datasets_and_one_class_splits_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let err = load(root, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Layout(_)), "{err:?}");
    assert!(err.to_string().contains("empty dataset"), "{err}");

    write_text(&root.join("a/1.txt"), "one\n");
    write_text(&root.join("b/1.txt"), "two\n");
    write_text(&root.join("c/1.txt"), "three\n");
    // round(0.5 · 3) = 2 train classes: the test split has one.
    let err = load(root, &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("the test split has 1 class;"),
        "{err}"
    );
    write_text(&root.join("d/1.txt"), "four\n");
    assert_eq!(load(root, &LoadOptions::default()).unwrap().items.len(), 4);
    let bad = LoadOptions {
        folder_train_fraction: -0.1,
        ..LoadOptions::default()
    };
    assert!(matches!(load(root, &bad), Err(DataError::Config(_))));
}

#[test]
fn text_unit_serde_names() {
    assert_eq!(serde_json::to_string(&TextUnit::File).unwrap(), "\"file\"");
    assert_eq!(serde_json::to_string(&TextUnit::Line).unwrap(), "\"line\"");
    assert_eq!(LoadOptions::default().text_unit, TextUnit::Line);
    let options: LoadOptions = serde_json::from_str(r#"{"text_unit": "file"}"#).unwrap();
    assert_eq!(options.text_unit, TextUnit::File);
}
