//! DeepFashion2 retrieval reader on fixtures in the official per-image JSON format.

mod readers_support;

use readers_support::{assert_dense_disjoint, write_image, write_text};
use xbn_data::{
    BoundingBox, DataError, DatasetKind, ItemSource, LoadOptions, Role, check_dataset, load_dataset,
};

fn anno(source: &str, pair_id: u32, items: &[(u32, [u32; 4])]) -> String {
    let items: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, (style, b))| {
            format!(
                r#""item{n}": {{"segmentation": [[1, 2, 3, 4, 5, 6]], "scale": 1, "viewpoint": 2,
  "zoom_in": 1, "landmarks": [0, 0, 0], "style": {style}, "bounding_box": [{}, {}, {}, {}],
  "category_id": 1, "occlusion": 1, "category_name": "short sleeve top"}}"#,
                b[0],
                b[1],
                b[2],
                b[3],
                n = i + 1
            )
        })
        .collect();
    format!(
        "{{\"source\": \"{source}\", \"pair_id\": {pair_id},\n{}}}",
        items.join(",\n")
    )
}

/// train: pair 1 (user 000001 with styles 1 and 0, shop 000002 style 1), pair 2 (shop 000003
/// style 1 and 2); validation: pair 1 (user 000001, shop 000002).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "train",
            "000001",
            anno("user", 1, &[(1, [1, 2, 10, 12]), (0, [0, 0, 5, 5])]),
        ),
        ("train", "000002", anno("shop", 1, &[(1, [3, 3, 15, 15])])),
        (
            "train",
            "000003",
            anno("shop", 2, &[(2, [0, 0, 8, 8]), (1, [2, 2, 6, 9])]),
        ),
        (
            "validation",
            "000001",
            anno("user", 1, &[(1, [1, 1, 9, 9])]),
        ),
        (
            "validation",
            "000002",
            anno("shop", 1, &[(1, [4, 4, 12, 12])]),
        ),
    ];
    for (k, (split, id, json)) in files.iter().enumerate() {
        write_text(&dir.path().join(format!("{split}/annos/{id}.json")), json);
        write_image(
            &dir.path().join(format!("{split}/image/{id}.jpg")),
            16,
            16,
            k as u8,
        );
    }
    dir
}

#[test]
fn items_are_cropped_and_classed_by_pair_and_style() {
    let dir = fixture();
    let index = load_dataset(
        DatasetKind::DeepFashion2,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_dense_disjoint(&index);
    // Style 0 is left out: 4 train items, 2 validation items.
    assert_eq!(index.items.len(), 6);
    let labels: Vec<u32> = index.items.iter().map(|i| i.label).collect();
    // Train classes (1,1) -> 0, (2,1) -> 1, (2,2) -> 2; validation (1,1) -> 3 (another product).
    assert_eq!(labels, vec![0, 0, 2, 1, 3, 3]);
    let roles: Vec<Role> = index.items.iter().map(|i| i.role).collect();
    assert_eq!(roles[..4], [Role::Train; 4]);
    assert_eq!(roles[4..], [Role::Query, Role::Gallery]);
    let ItemSource::File { path, crop } = &index.items[2].source else {
        panic!()
    };
    assert!(path.ends_with("train/image/000003.jpg"));
    assert_eq!(
        *crop,
        Some(BoundingBox {
            x1: 0,
            y1: 0,
            x2: 8,
            y2: 8
        })
    );
}

#[test]
fn bad_annotations_name_the_file() {
    let cases = [
        (anno("user", 1, &[(1, [5, 5, 5, 9])]), "bounding_box"),
        (anno("consumer", 1, &[(1, [1, 1, 9, 9])]), "source"),
        (
            anno("user", 1, &[(1, [1, 1, 9, 9])]).replace("\"pair_id\": 1", "\"pair_id\": \"x\""),
            "pair_id",
        ),
        (
            anno("user", 1, &[(1, [1, 1, 9, 9])]).replace("[1, 1, 9, 9]", "[1, 1, 9]"),
            "bounding_box",
        ),
    ];
    for (json, what) in cases {
        let dir = fixture();
        write_text(&dir.path().join("validation/annos/000001.json"), &json);
        let err = load_dataset(
            DatasetKind::DeepFashion2,
            dir.path(),
            &LoadOptions::default(),
        )
        .unwrap_err();
        let DataError::Annotation { path, message } = &err else {
            panic!("{err}")
        };
        assert!(path.ends_with("validation/annos/000001.json"));
        assert!(message.contains(what), "{err}");
    }
}

#[test]
fn malformed_json_names_file_and_line() {
    let dir = fixture();
    let broken = anno("shop", 2, &[(1, [1, 1, 9, 9])]).replace("\"scale\": 1,", "\"scale\": 1,,");
    write_text(&dir.path().join("train/annos/000003.json"), &broken);
    let err = load_dataset(
        DatasetKind::DeepFashion2,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    let DataError::Parse { path, line, .. } = &err else {
        panic!("{err}")
    };
    assert!(path.ends_with("train/annos/000003.json"));
    assert_eq!(*line, 2, "{err}");
}

#[test]
fn missing_image_names_the_annotation() {
    let dir = fixture();
    std::fs::remove_file(dir.path().join("train/image/000003.jpg")).unwrap();
    let err = load_dataset(
        DatasetKind::DeepFashion2,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    let DataError::MissingImage {
        image,
        listed_in,
        total,
    } = &err
    else {
        panic!("{err}")
    };
    assert!(image.ends_with("train/image/000003.jpg"));
    assert!(listed_in.contains("000003.json"), "{listed_in}");
    assert_eq!(*total, 1, "one file, even with two items");
}

#[test]
fn check_counts_queries_without_a_gallery_match() {
    let dir = fixture();
    // A second user image of validation pair 1 whose style has no shop image.
    write_text(
        &dir.path().join("validation/annos/000003.json"),
        &anno("user", 1, &[(2, [1, 1, 9, 9])]),
    );
    write_image(&dir.path().join("validation/image/000003.jpg"), 16, 16, 9);
    let report = check_dataset(
        DatasetKind::DeepFashion2,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap();
    let test = &report.splits[1];
    assert_eq!(
        (test.queries, test.gallery, test.queries_without_gallery),
        (Some(2), Some(1), Some(1))
    );
    assert!(
        report.ok,
        "DeepFashion2 has no official counts: {:?}",
        report.problems
    );
}

/// The folders of both zips under a kept `DeepFashion2/` folder load from its parent.
#[test]
fn loads_with_a_kept_top_folder() {
    let dir = fixture();
    readers_support::nest(dir.path(), "DeepFashion2");
    let index = load_dataset(
        DatasetKind::DeepFashion2,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(index.items.len(), 6);
}

#[test]
fn not_found_names_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dataset(
        DatasetKind::DeepFashion2,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    readers_support::assert_looked(
        &err,
        dir.path(),
        &["train/annos", "DeepFashion2/train/annos"],
    );
}
