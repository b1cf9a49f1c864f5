//! CUB-200-2011 and Cars196 readers on fixtures in their distributed formats.

mod readers_support;

use std::path::Path;

use readers_support::{assert_dense_disjoint, path_of, write_image, write_text};
use xbn_data::{DataError, DatasetKind, LoadOptions, Role, Split, load_dataset};

/// CUB in the archive's nesting (`CUB_200_2011/`), images of classes 1, 2, 101 and 200.
fn cub_fixture(labels: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("CUB_200_2011");
    let images = "1 001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg
2 001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg
3 002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg
4 101.White_Pelican/White_Pelican_0025_97604.jpg
5 200.Common_Yellowthroat/Common_Yellowthroat_0055_190967.jpg
";
    write_text(&base.join("images.txt"), images);
    write_text(&base.join("image_class_labels.txt"), labels);
    for (k, line) in images.lines().enumerate() {
        write_image(
            &base.join("images").join(line.split(' ').nth(1).unwrap()),
            10,
            10,
            k as u8,
        );
    }
    dir
}

const CUB_LABELS: &str = "1 1\n2 1\n3 2\n4 101\n5 200\n";

#[test]
fn cub_splits_classes_at_100() {
    let dir = cub_fixture(CUB_LABELS);
    let index = load_dataset(DatasetKind::Cub, dir.path(), &LoadOptions::default()).unwrap();
    assert_dense_disjoint(&index);
    assert_eq!(
        index.items.iter().map(|i| i.label).collect::<Vec<_>>(),
        vec![0, 0, 1, 2, 3]
    );
    assert_eq!(index.split_indices(Split::Train), vec![0, 1, 2]);
    assert_eq!(index.role_indices(Role::QueryAndReference), vec![3, 4]);
    assert!(
        path_of(&index, 3)
            .ends_with("CUB_200_2011/images/101.White_Pelican/White_Pelican_0025_97604.jpg")
    );
}

#[test]
fn cub_bad_labels_name_file_and_line() {
    let cases = [
        (
            "1 1\n2 1\n3 two\n4 101\n5 200\n",
            "image_class_labels.txt",
            3,
        ),
        ("1 1\n2 1\n3 2\n3 101\n5 200\n", "image_class_labels.txt", 4),
        ("1 1\n2 1\n3 2\n4 101\n6 200\n", "images.txt", 5),
    ];
    for (labels, file, line) in cases {
        let dir = cub_fixture(labels);
        let err = load_dataset(DatasetKind::Cub, dir.path(), &LoadOptions::default()).unwrap_err();
        let DataError::Parse { path, line: l, .. } = &err else {
            panic!("{err}")
        };
        assert!(path.ends_with(file) && *l == line, "{err}");
    }
    let dir = cub_fixture("1 1\n2 1\n3 2\n4 101\n");
    let err = load_dataset(DatasetKind::Cub, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("lists 5 images") && err.to_string().contains("lists 4"),
        "{err}"
    );
}

const CARS: &str = "relative_im_path,bbox_x1,bbox_y1,bbox_x2,bbox_y2,class,test
car_ims/000001.jpg,112,7,853,717,1,0
car_ims/000002.jpg,48,24,441,202,1,1
car_ims/000003.jpg,7,4,277,180,98,0
car_ims/000004.jpg,33,50,197,150,99,1
car_ims/000005.jpg,5,8,83,58,196,0
";

fn cars_fixture(annos: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_text(&dir.path().join("cars_annos.csv"), annos);
    for k in 1..=5 {
        write_image(
            &dir.path().join(format!("car_ims/{k:06}.jpg")),
            9,
            6,
            k as u8,
        );
    }
    dir
}

#[test]
fn cars_splits_classes_at_98_ignoring_the_test_flag() {
    let dir = cars_fixture(CARS);
    let index = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default()).unwrap();
    assert_dense_disjoint(&index);
    assert_eq!(
        index.items.iter().map(|i| i.label).collect::<Vec<_>>(),
        vec![0, 0, 1, 2, 3]
    );
    assert_eq!(index.split_indices(Split::Test), vec![3, 4]);
    assert!(path_of(&index, 4).ends_with("car_ims/000005.jpg"));
}

#[test]
fn cars_bad_rows_name_file_and_line() {
    let cases = [
        (CARS.replace("98,0", "98"), 4, "7 comma-separated"),
        (CARS.replace(",99,1", ",x,1"), 5, "class"),
        (CARS.replace("relative_im_path,", "path,"), 1, "header"),
    ];
    for (annos, line, what) in cases {
        let dir = cars_fixture(&annos);
        let err = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default()).unwrap_err();
        let DataError::Parse {
            line: l, message, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert!(*l == line && message.contains(what), "{err}");
    }
    let dir = cars_fixture(CARS);
    std::fs::remove_file(dir.path().join("car_ims/000002.jpg")).unwrap();
    let err = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("cars_annos.csv:3"), "{err}");
}

/// The official `.mat` layout, on fixtures written by scipy (`reference/make_cars_mat.py`):
/// the index must equal the one read from scipy's own reading of the same file, exported as CSV.
#[test]
fn cars_mat_file_reads_like_scipy() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let expected = std::fs::read_to_string(data.join("cars_annos_expected.csv")).unwrap();
    let reference = load_dataset(
        DatasetKind::Cars,
        cars_fixture(&expected).path(),
        &LoadOptions::default(),
    )
    .unwrap();
    for mat in ["cars_annos_compressed.mat", "cars_annos_plain.mat"] {
        let dir = cars_fixture(CARS);
        std::fs::copy(data.join(mat), dir.path().join("cars_annos.mat")).unwrap();
        let index = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default()).unwrap();
        assert_eq!(index.items.len(), reference.items.len(), "{mat}");
        for i in 0..index.items.len() {
            let (a, b) = (&index.items[i], &reference.items[i]);
            assert_eq!(
                (a.label, a.split, a.role),
                (b.label, b.split, b.role),
                "{mat} item {i}"
            );
            assert_eq!(
                path_of(&index, i).strip_prefix(dir.path()).unwrap(),
                Path::new(&format!("car_ims/{:06}.jpg", i + 1))
            );
        }
        assert_eq!(
            index.split_indices(Split::Train),
            vec![0, 1, 2],
            "classes 1, 1, 98 train"
        );
    }
}

#[test]
fn cars_corrupt_mat_file_is_an_error_naming_it() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let full = std::fs::read(data.join("cars_annos_plain.mat")).unwrap();
    for (what, bytes) in [
        ("truncated", full[..600].to_vec()),
        ("not a MAT file", b"hello".repeat(40)),
    ] {
        let dir = cars_fixture(CARS);
        std::fs::write(dir.path().join("cars_annos.mat"), bytes).unwrap();
        let err = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default()).unwrap_err();
        let DataError::Annotation { path, .. } = &err else {
            panic!("{what}: {err}")
        };
        assert!(path.ends_with("cars_annos.mat"), "{what}: {err}");
    }
}

/// A truncated MAT file reads as an error or as a prefix of its variables (never a panic, never
/// altered values); a flipped byte gives an error or a value, never a panic.
#[test]
fn cars_mat_reader_survives_any_truncation_or_byte_flip() {
    use xbn_data::readers::matv5::read_mat;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dir = tempfile::tempdir().unwrap();
    let mat = dir.path().join("cars_annos.mat");
    for name in ["cars_annos_plain.mat", "cars_annos_compressed.mat"] {
        let full = std::fs::read(data.join(name)).unwrap();
        let complete = read_mat(&data.join(name)).unwrap();
        assert_eq!(complete.len(), 2, "annotations and class_names");
        let step = if name.contains("plain") { 97 } else { 13 };
        for cut in (128..full.len()).step_by(step) {
            std::fs::write(&mat, &full[..cut]).unwrap();
            if let Ok(vars) = read_mat(&mat) {
                assert!(vars.len() < complete.len(), "{name} cut at {cut}");
                assert_eq!(vars[..], complete[..vars.len()], "{name} cut at {cut}");
            }
        }
        for at in (128..full.len().min(1200)).step_by(7) {
            let mut bytes = full.clone();
            bytes[at] ^= 0xA5;
            std::fs::write(&mat, &bytes).unwrap();
            let _may_fail = read_mat(&mat);
        }
    }
}

/// CUB with the root at the archive's folder itself (flattened) loads like the nested one.
#[test]
fn cub_loads_from_the_archive_folder_itself() {
    let dir = cub_fixture(CUB_LABELS);
    let root = dir.path().join("CUB_200_2011");
    let index = load_dataset(DatasetKind::Cub, &root, &LoadOptions::default()).unwrap();
    assert_eq!(index.items.len(), 5);
    assert!(path_of(&index, 0).starts_with(root.join("images")));
}

#[test]
fn cub_not_found_names_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dataset(DatasetKind::Cub, dir.path(), &LoadOptions::default()).unwrap_err();
    readers_support::assert_looked(&err, dir.path(), &["images.txt", "CUB_200_2011/images.txt"]);
}

/// The official `cars_annos.mat` beside `car_ims/`, with the dataset's folder kept (as
/// `Cars196/`, the fetch-data folder, or `stanford_cars/`).
#[test]
fn cars_mat_loads_under_a_kept_top_folder() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for top in ["Cars196", "stanford_cars"] {
        let dir = cars_fixture(CARS);
        std::fs::remove_file(dir.path().join("cars_annos.csv")).unwrap();
        std::fs::copy(
            data.join("cars_annos_plain.mat"),
            dir.path().join("cars_annos.mat"),
        )
        .unwrap();
        readers_support::nest(dir.path(), top);
        let index = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{top}: {e}"));
        assert_eq!(index.items.len(), 5);
        assert_eq!(
            path_of(&index, 4),
            dir.path().join(top).join("car_ims/000005.jpg")
        );
    }
}

/// The devkit layout (`car_devkit.tgz` + `cars_train.tgz` + `cars_test.tgz` +
/// `cars_test_annos_withlabels.mat`, as torchvision's `StanfordCars` expects it): both
/// annotation files pooled, classes 1–98 train.
#[test]
fn cars_devkit_layout_pools_train_and_test_files() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    for (top, test_annos) in [
        ("", "cars_test_annos_withlabels.mat"),
        ("stanford_cars", "cars_test_annos_withlabels.mat"),
        ("", "devkit/cars_test_annos_withlabels.mat"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join(top);
        std::fs::create_dir_all(base.join("devkit")).unwrap();
        std::fs::copy(
            data.join("cars_train_annos.mat"),
            base.join("devkit/cars_train_annos.mat"),
        )
        .unwrap();
        std::fs::copy(
            data.join("cars_test_annos_withlabels.mat"),
            base.join(test_annos),
        )
        .unwrap();
        for (k, image) in [
            "cars_train/00001.jpg",
            "cars_train/00002.jpg",
            "cars_train/00003.jpg",
            "cars_test/00001.jpg",
            "cars_test/00002.jpg",
        ]
        .iter()
        .enumerate()
        {
            write_image(&base.join(image), 7, 5, k as u8);
        }
        let index = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{top}/{test_annos}: {e}"));
        assert_dense_disjoint(&index);
        // Classes 14, 3, 99 (train file) and 181, 3 (test file): 3 -> 0, 14 -> 1, 99 -> 2, 181 -> 3.
        assert_eq!(
            index.items.iter().map(|i| i.label).collect::<Vec<_>>(),
            vec![1, 0, 2, 3, 0]
        );
        assert_eq!(index.split_indices(Split::Test), vec![2, 3]);
        assert_eq!(path_of(&index, 3), base.join("cars_test/00001.jpg"));
        assert_eq!(path_of(&index, 1), base.join("cars_train/00002.jpg"));
    }
}

#[test]
fn cars_not_found_names_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default()).unwrap_err();
    readers_support::assert_looked(
        &err,
        dir.path(),
        &[
            "cars_annos.mat",
            "cars_annos.csv",
            "Cars196/cars_annos.mat",
            "devkit/cars_train_annos.mat",
            "stanford_cars/devkit/cars_train_annos.mat",
        ],
    );
}

/// The devkit without the labelled test file (its own `cars_test_annos.mat` has no classes):
/// the error names both places the labelled file may be and says why the other is not read.
#[test]
fn cars_devkit_without_labelled_test_file_names_it() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("devkit")).unwrap();
    std::fs::copy(
        data.join("cars_train_annos.mat"),
        dir.path().join("devkit/cars_train_annos.mat"),
    )
    .unwrap();
    let err = load_dataset(DatasetKind::Cars, dir.path(), &LoadOptions::default()).unwrap_err();
    readers_support::assert_looked(
        &err,
        dir.path(),
        &[
            "cars_test_annos_withlabels.mat",
            "devkit/cars_test_annos_withlabels.mat",
        ],
    );
    assert!(err.to_string().contains("has no classes"), "{err}");
}
