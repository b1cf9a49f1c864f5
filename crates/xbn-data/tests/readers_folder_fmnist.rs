//! Folder-per-class and Fashion-MNIST (IDX) readers.

mod readers_support;

use std::io::Write;
use std::path::Path;

use readers_support::{assert_dense_disjoint, path_of, write_image, write_text};
use xbn_data::readers::{count_mismatches, fashion_mnist};
use xbn_data::{DataError, DatasetKind, LoadOptions, Split, load_dataset};

#[test]
fn folder_sorts_classes_and_splits_by_fraction() {
    let dir = tempfile::tempdir().unwrap();
    for class in ["delta", "alpha", "charlie", "bravo"] {
        write_image(&dir.path().join(class).join("b.JPG"), 5, 5, 1);
        write_image(&dir.path().join(class).join("a.png"), 5, 5, 2);
    }
    write_text(&dir.path().join("alpha/notes.txt"), "not an image");
    write_text(&dir.path().join(".hidden/x.png"), "");
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let options = LoadOptions {
        folder_train_fraction: 0.75,
        ..LoadOptions::default()
    };
    let index = load_dataset(DatasetKind::Folder, dir.path(), &options).unwrap();
    assert_dense_disjoint(&index);
    assert_eq!(index.items.len(), 8);
    assert_eq!(
        index.items.iter().map(|i| i.label).collect::<Vec<_>>(),
        vec![0, 0, 1, 1, 2, 2, 3, 3]
    );
    assert_eq!(index.split_indices(Split::Train).len(), 6);
    assert!(path_of(&index, 0).ends_with("alpha/a.png"));
    assert!(path_of(&index, 7).ends_with("delta/b.JPG"));
    let bad = LoadOptions {
        folder_train_fraction: 1.5,
        ..LoadOptions::default()
    };
    assert!(matches!(
        load_dataset(DatasetKind::Folder, dir.path(), &bad),
        Err(DataError::Config(_))
    ));
}

#[test]
fn folder_with_train_and_test_subfolders() {
    let dir = tempfile::tempdir().unwrap();
    write_image(&dir.path().join("train/cat/1.jpg"), 5, 5, 1);
    write_image(&dir.path().join("test/dog/1.jpg"), 5, 5, 2);
    write_image(&dir.path().join("test/eel/1.jpg"), 5, 5, 3);
    let index = load_dataset(DatasetKind::Folder, dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(index.split_indices(Split::Test), vec![1, 2]);
    assert_dense_disjoint(&index);
    // The same class in both halves breaks class-disjointness: an error, not a silent relabel.
    write_image(&dir.path().join("test/cat/2.jpg"), 5, 5, 4);
    let err = load_dataset(DatasetKind::Folder, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("\"cat\"") && err.to_string().contains("class-disjoint"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = load_dataset(DatasetKind::Folder, empty.path(), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Layout(_)), "{err}");
}

/// Writes a gzip-compressed IDX file with the given magic, dimensions and data.
fn write_idx(path: &Path, magic: u32, dims: &[u32], data: &[u8]) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(data);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

/// 4 training-file and 2 test-file images of 3 × 2 pixels; pixel values encode the image number.
fn idx_fixture(train_labels: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pixels =
        |n: usize, first: u8| -> Vec<u8> { (0..n * 6).map(|i| first + (i / 6) as u8).collect() };
    write_idx(
        &dir.path().join("train-images-idx3-ubyte.gz"),
        0x803,
        &[4, 3, 2],
        &pixels(4, 10),
    );
    write_idx(
        &dir.path().join("train-labels-idx1-ubyte.gz"),
        0x801,
        &[train_labels.len() as u32],
        train_labels,
    );
    write_idx(
        &dir.path().join("t10k-images-idx3-ubyte.gz"),
        0x803,
        &[2, 3, 2],
        &pixels(2, 20),
    );
    write_idx(
        &dir.path().join("t10k-labels-idx1-ubyte.gz"),
        0x801,
        &[2],
        &[5, 0],
    );
    dir
}

#[test]
fn fashion_mnist_pools_files_and_splits_classes_0_to_4() {
    let dir = idx_fixture(&[9, 0, 4, 5]);
    let index = load_dataset(
        DatasetKind::FashionMnist,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap();
    // Classes present: 0, 4 (train) and 5, 9 (test), densely renumbered 0..4.
    assert_eq!(
        index.items.iter().map(|i| i.label).collect::<Vec<_>>(),
        vec![3, 0, 1, 2, 2, 0]
    );
    assert_eq!(index.split_indices(Split::Train), vec![1, 2, 5]);
    let xbn_data::ItemSource::Provided { provider, index: i } = &index.items[5].source else {
        panic!()
    };
    let img = provider.image(*i).unwrap();
    assert_eq!(img.dimensions(), (2, 3));
    assert_eq!(img.get_pixel(1, 2).0, [21, 21, 21]);
    assert!(
        provider
            .describe(*i)
            .contains("t10k-images-idx3-ubyte.gz image #1")
    );
}

#[test]
fn fashion_mnist_wrong_counts_and_labels_are_errors() {
    let dir = idx_fixture(&[9, 0, 4]);
    let err = load_dataset(
        DatasetKind::FashionMnist,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("holds 4 images") && err.to_string().contains("3 labels"),
        "{err}"
    );
    let dir = idx_fixture(&[9, 0, 12, 5]);
    let err = load_dataset(
        DatasetKind::FashionMnist,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("label #2 is 12"), "{err}");
    let dir = idx_fixture(&[9, 0, 4, 5]);
    write_idx(
        &dir.path().join("t10k-images-idx3-ubyte.gz"),
        0x803,
        &[3, 3, 2],
        &[0; 12],
    );
    let err = load_dataset(
        DatasetKind::FashionMnist,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("t10k-images") && err.to_string().contains("bytes"),
        "{err}"
    );
}

/// The real dataset, where Debian's `dataset-fashion-mnist` is installed: the official counts.
#[test]
fn real_fashion_mnist_has_the_official_counts() {
    let root = Path::new(fashion_mnist::DEBIAN_ROOT);
    if !root.join("train-images-idx3-ubyte.gz").is_file() {
        eprintln!(
            "skipped: {} not installed (apt-get install dataset-fashion-mnist)",
            root.display()
        );
        return;
    }
    let index = load_dataset(DatasetKind::FashionMnist, root, &LoadOptions::default()).unwrap();
    assert_eq!(index.items.len(), 70_000);
    assert!(count_mismatches(DatasetKind::FashionMnist, &index).is_empty());
    let xbn_data::ItemSource::Provided { provider, index: i } = &index.items[0].source else {
        panic!()
    };
    assert_eq!(provider.image(*i).unwrap().dimensions(), (28, 28));
    assert_eq!(
        index.items[0].label, 9,
        "the first training image is an ankle boot"
    );
}

/// The four IDX files where torchvision (`FashionMNIST/raw/`) and the project's repository
/// (`data/fashion/`) keep them load from the root above.
#[test]
fn fashion_mnist_loads_from_torchvision_and_repository_layouts() {
    for sub in ["FashionMNIST/raw", "data/fashion"] {
        let dir = idx_fixture(&[9, 0, 4, 5]);
        readers_support::nest(dir.path(), sub);
        let index = load_dataset(
            DatasetKind::FashionMnist,
            dir.path(),
            &LoadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{sub}: {e}"));
        assert_eq!(index.items.len(), 6, "{sub}");
    }
}

#[test]
fn fashion_mnist_not_found_names_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dataset(
        DatasetKind::FashionMnist,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    readers_support::assert_looked(
        &err,
        dir.path(),
        &[
            "train-images-idx3-ubyte.gz",
            "train-images-idx3-ubyte",
            "FashionMNIST/raw/train-images-idx3-ubyte.gz",
            "data/fashion/train-images-idx3-ubyte.gz",
        ],
    );
}

/// Found checking the readers' size fields (issue 16, item 5): dimensions whose product
/// overflows `usize` were a panic ("attempt to multiply with overflow"); they are a typed
/// error naming the file.
#[test]
fn fashion_mnist_overflowing_dimensions_are_an_error() {
    let dir = idx_fixture(&[9, 0, 4, 5]);
    write_idx(
        &dir.path().join("train-images-idx3-ubyte.gz"),
        0x803,
        &[u32::MAX, u32::MAX, u32::MAX],
        &[0; 24],
    );
    let err = load_dataset(
        DatasetKind::FashionMnist,
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DataError::Annotation { .. }), "{err:?}");
    assert!(
        err.to_string().contains("train-images-idx3-ubyte.gz"),
        "{err}"
    );
}
