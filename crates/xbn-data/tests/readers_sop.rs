//! Stanford Online Products reader on fixtures in the official `Ebay_*.txt` format.

mod readers_support;

use readers_support::{assert_dense_disjoint, path_of, write_image, write_text};
use xbn_data::readers::count_mismatches;
use xbn_data::{DataError, DatasetKind, LoadOptions, Role, Split, load_dataset};

const TRAIN: &str = "image_id class_id super_class_id path
1 1 1 bicycle_final/111085122871_0.JPG
2 1 1 bicycle_final/111085122871_1.JPG
3 2 1 bicycle_final/111265328556_0.JPG
4 2 1 bicycle_final/111265328556_1.JPG
5 3 2 cabinet_final/110788216082_0.JPG
";
const TEST: &str = "image_id class_id super_class_id path
1 11319 1 bicycle_final/251952414262_0.JPG
2 11319 1 bicycle_final/251952414262_1.JPG
3 11320 2 cabinet_final/261107962233_0.JPG
";

fn fixture(train: &str, test: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_text(&dir.path().join("Ebay_train.txt"), train);
    write_text(&dir.path().join("Ebay_test.txt"), test);
    for (k, line) in train
        .lines()
        .chain(test.lines())
        .filter(|l| l.contains(".JPG"))
        .enumerate()
    {
        let path = line.split_whitespace().last().unwrap();
        write_image(&dir.path().join(path), 12, 10, k as u8);
    }
    dir
}

#[test]
fn reads_official_layout_with_dense_disjoint_labels() {
    let dir = fixture(TRAIN, TEST);
    let index = load_dataset(DatasetKind::Sop, dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(index.name, "sop");
    assert_eq!(index.items.len(), 8);
    assert_dense_disjoint(&index);
    let labels: Vec<u32> = index.items.iter().map(|i| i.label).collect();
    assert_eq!(labels, vec![0, 0, 1, 1, 2, 3, 3, 4]);
    assert_eq!(index.split_indices(Split::Train), vec![0, 1, 2, 3, 4]);
    assert!(
        index.items[5..]
            .iter()
            .all(|i| i.role == Role::QueryAndReference)
    );
    assert!(index.items[..5].iter().all(|i| i.role == Role::Train));
    assert_eq!(
        path_of(&index, 4),
        dir.path().join("cabinet_final/110788216082_0.JPG")
    );
    // A fixture is not the full dataset: the differences are listed, not raised.
    let mismatches = count_mismatches(DatasetKind::Sop, &index);
    assert_eq!(mismatches.len(), 4, "{mismatches:?}");
    assert!(mismatches[0].contains("5 train images") && mismatches[0].contains("59551"));
}

#[test]
fn strict_counts_turn_mismatches_into_an_error() {
    let dir = fixture(TRAIN, TEST);
    let options = LoadOptions {
        strict_counts: true,
        ..LoadOptions::default()
    };
    let err = load_dataset(DatasetKind::Sop, dir.path(), &options).unwrap_err();
    assert!(matches!(err, DataError::Layout(_)));
    assert!(
        err.to_string()
            .contains("3 train classes, the official dataset has 11318"),
        "{err}"
    );
}

#[test]
fn missing_image_names_file_and_line() {
    let dir = fixture(TRAIN, TEST);
    std::fs::remove_file(dir.path().join("bicycle_final/111265328556_0.JPG")).unwrap();
    let err = load_dataset(DatasetKind::Sop, dir.path(), &LoadOptions::default()).unwrap_err();
    let DataError::MissingImage {
        image,
        listed_in,
        total,
    } = &err
    else {
        panic!("{err}")
    };
    assert!(image.ends_with("bicycle_final/111265328556_0.JPG"));
    assert!(listed_in.ends_with("Ebay_train.txt:4"), "{listed_in}");
    assert_eq!(*total, 1);
    let no_verify = LoadOptions {
        verify_files: false,
        ..LoadOptions::default()
    };
    assert_eq!(
        load_dataset(DatasetKind::Sop, dir.path(), &no_verify)
            .unwrap()
            .items
            .len(),
        8
    );
}

#[test]
fn malformed_lines_name_file_and_line() {
    let cases = [
        (
            TRAIN.replace("3 2 1 bicycle", "3 2 bicycle"),
            4,
            "expected 4 fields",
        ),
        (TRAIN.replace("5 3 2", "5 three 2"), 6, "class_id"),
        (TRAIN.replace("image_id class_id", "id class"), 1, "header"),
    ];
    for (train, line, what) in cases {
        let dir = fixture(&train, TEST);
        let err = load_dataset(DatasetKind::Sop, dir.path(), &LoadOptions::default()).unwrap_err();
        let DataError::Parse {
            path,
            line: l,
            message,
        } = &err
        else {
            panic!("{err}")
        };
        assert!(path.ends_with("Ebay_train.txt"));
        assert_eq!(*l, line, "{err}");
        assert!(message.contains(what), "{err}");
    }
}

#[test]
fn a_class_in_both_files_is_an_error() {
    let dir = fixture(TRAIN, &TEST.replace("3 11320 2", "3 2 2"));
    let err = load_dataset(DatasetKind::Sop, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("class-disjoint"), "{err}");
    assert!(err.to_string().contains("Ebay_test.txt:4"), "{err}");
}

#[test]
fn missing_annotation_file_is_an_io_error_naming_it() {
    let dir = fixture(TRAIN, TEST);
    std::fs::remove_file(dir.path().join("Ebay_test.txt")).unwrap();
    let err = load_dataset(DatasetKind::Sop, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(&err, DataError::Io { path, .. } if path.ends_with("Ebay_test.txt")),
        "{err}"
    );
}

/// The zip's top folder kept (`Stanford_Online_Products/Ebay_train.txt`): the root may be its
/// parent; paths stay relative to the folder holding the lists.
#[test]
fn loads_with_the_archive_folder_kept() {
    let dir = fixture(TRAIN, TEST);
    readers_support::nest(dir.path(), "Stanford_Online_Products");
    let index = load_dataset(DatasetKind::Sop, dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(index.items.len(), 8);
    assert_eq!(
        path_of(&index, 0),
        dir.path()
            .join("Stanford_Online_Products/bicycle_final/111085122871_0.JPG")
    );
}

#[test]
fn no_lists_name_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dataset(DatasetKind::Sop, dir.path(), &LoadOptions::default()).unwrap_err();
    readers_support::assert_looked(
        &err,
        dir.path(),
        &["Ebay_train.txt", "Stanford_Online_Products/Ebay_train.txt"],
    );
}
