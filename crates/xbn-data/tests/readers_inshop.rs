//! In-Shop reader on fixtures in the official `list_eval_partition.txt` format (a count line, a
//! header line, columns padded with runs of spaces).

mod readers_support;

use readers_support::{assert_dense_disjoint, path_of, write_image, write_text};
use xbn_data::readers::index_counts;
use xbn_data::{DataError, DatasetKind, LoadOptions, Role, Split, load_dataset};

const PARTITION: &str = "7
image_name item_id evaluation_status
img/WOMEN/Dresses/id_00000002/02_1_front.jpg                        id_00000002 train
img/WOMEN/Dresses/id_00000002/02_2_side.jpg                         id_00000002 train
img/MEN/Denim/id_00000080/01_1_front.jpg                            id_00000080 train
img/WOMEN/Blouses_Shirts/id_00000001/02_1_front.jpg                 id_00000001 gallery
img/WOMEN/Blouses_Shirts/id_00000001/02_2_side.jpg                  id_00000001 query
img/WOMEN/Tees_Tanks/id_00000007/02_1_front.jpg                     id_00000007 query
img/WOMEN/Tees_Tanks/id_00000007/02_3_back.jpg                      id_00000007 gallery
";

fn fixture(partition: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_text(&dir.path().join("list_eval_partition.txt"), partition);
    for (k, line) in partition
        .lines()
        .filter(|l| l.starts_with("img/"))
        .enumerate()
    {
        let path = line.split_whitespace().next().unwrap();
        write_image(&dir.path().join(path), 8, 16, k as u8);
    }
    dir
}

#[test]
fn reads_train_query_gallery() {
    let dir = fixture(PARTITION);
    let index = load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap();
    assert_dense_disjoint(&index);
    let labels: Vec<u32> = index.items.iter().map(|i| i.label).collect();
    // Train items sorted by id: id_00000002 -> 0, id_00000080 -> 1; test: 00000001 -> 2, 00000007 -> 3.
    assert_eq!(labels, vec![0, 0, 1, 2, 2, 3, 3]);
    let roles: Vec<Role> = index.items.iter().map(|i| i.role).collect();
    use Role::*;
    assert_eq!(
        roles,
        vec![Train, Train, Train, Gallery, Query, Query, Gallery]
    );
    assert_eq!(index.split_indices(Split::Test), vec![3, 4, 5, 6]);
    assert_eq!(
        path_of(&index, 2),
        dir.path().join("img/MEN/Denim/id_00000080/01_1_front.jpg")
    );
    let counts = index_counts(&index);
    assert_eq!((counts.queries, counts.gallery), (Some(2), Some(2)));
}

#[test]
fn wrong_count_line_is_an_error_on_line_1() {
    let dir = fixture(&PARTITION.replacen('7', "52712", 1));
    let err = load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap_err();
    let DataError::Parse {
        path,
        line,
        message,
    } = &err
    else {
        panic!("{err}")
    };
    assert!(path.ends_with("list_eval_partition.txt"));
    assert_eq!(*line, 1);
    assert!(
        message.contains("52712") && message.contains("lists 7"),
        "{err}"
    );
}

#[test]
fn malformed_lines_name_file_and_line() {
    let cases = [
        (
            PARTITION.replace("id_00000080 train", "id_00000080 training"),
            5,
            "evaluation_status",
        ),
        (
            PARTITION.replace("id_00000007 query", "query"),
            8,
            "expected 3 fields",
        ),
        (
            PARTITION.replace("image_name item_id", "image_name item"),
            2,
            "header",
        ),
        (PARTITION.replacen('7', "seven", 1), 1, "image count"),
    ];
    for (text, line, what) in cases {
        let dir = fixture(&text);
        let err =
            load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap_err();
        let DataError::Parse {
            line: l, message, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!((*l, message.contains(what)), (line, true), "{err}");
    }
}

#[test]
fn missing_image_names_file_and_line() {
    let dir = fixture(PARTITION);
    std::fs::remove_file(
        dir.path()
            .join("img/WOMEN/Tees_Tanks/id_00000007/02_3_back.jpg"),
    )
    .unwrap();
    let err = load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("02_3_back.jpg") && text.contains("list_eval_partition.txt:9"),
        "{text}"
    );
}

#[test]
fn an_item_in_train_and_query_is_an_error() {
    let dir = fixture(&PARTITION.replace("id_00000007 query", "id_00000080 query"));
    let err = load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("list_eval_partition.txt:8"),
        "{err}"
    );
}

/// Writes the partition list at `list` and the images under `images` (the folder holding
/// `img/`), both relative to a new temporary root.
fn layout_fixture(list: &str, images: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_text(&dir.path().join(list), PARTITION);
    for (k, line) in PARTITION
        .lines()
        .filter(|l| l.starts_with("img/"))
        .enumerate()
    {
        let path = line.split_whitespace().next().unwrap();
        write_image(&dir.path().join(images).join(path), 8, 16, k as u8);
    }
    dir
}

/// Issue 16, item 3: the download as distributed (`Eval/list_eval_partition.txt`, images
/// under `Img/img/`) loads from its top folder, and so do its common variants.
#[test]
fn official_layout_and_its_variants_load() {
    for (list, images) in [
        ("Eval/list_eval_partition.txt", "Img"),
        ("Eval/list_eval_partition.txt", ""),
        ("list_eval_partition.txt", "Img"),
        (
            "In-shop Clothes Retrieval Benchmark/Eval/list_eval_partition.txt",
            "In-shop Clothes Retrieval Benchmark/Img",
        ),
    ] {
        let dir = layout_fixture(list, images);
        let index = load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{list} + {images}/img: {e}"));
        assert_dense_disjoint(&index);
        assert_eq!(index.items.len(), 7, "{list}");
        assert_eq!(
            path_of(&index, 2),
            dir.path()
                .join(images)
                .join("img/MEN/Denim/id_00000080/01_1_front.jpg"),
            "{list} + {images}/img"
        );
    }
}

/// Nothing where any layout puts the partition list: the error names every place looked.
#[test]
fn no_partition_list_names_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap_err();
    let DataError::NotFound { looked, .. } = &err else {
        panic!("{err:?}")
    };
    let text = err.to_string();
    for place in [
        "list_eval_partition.txt",
        "Eval/list_eval_partition.txt",
        "In-shop Clothes Retrieval Benchmark/Eval/list_eval_partition.txt",
    ] {
        assert!(looked.contains(&dir.path().join(place)), "{text}");
        assert!(text.contains(place), "{text}");
    }
}

/// The list is found but `img/` is in none of the places the layouts put it: the error names
/// them.
#[test]
fn no_image_folder_names_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    write_text(&dir.path().join("Eval/list_eval_partition.txt"), PARTITION);
    let err = load_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DataError::NotFound { .. }), "{err:?}");
    for place in ["Img/img", "Eval/img"] {
        assert!(text.contains(place), "{text}");
    }
}
