//! Fixture helpers shared by the reader tests: real tiny image files and annotation files
//! written into temporary folders.
#![allow(dead_code)]

use std::path::Path;

use xbn_data::{DatasetIndex, ItemSource, Split};

/// Writes a real `w × h` image (JPEG or PNG by extension), creating parent folders.
pub fn write_image(path: &Path, w: u32, h: u32, shade: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([shade, (x * 7) as u8, (y * 5) as u8])
    });
    img.save(path).unwrap();
}

/// Writes a text file, creating parent folders.
pub fn write_text(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The file path of item `i`.
pub fn path_of(index: &DatasetIndex, i: usize) -> std::path::PathBuf {
    match &index.items[i].source {
        ItemSource::File { path, .. } => path.clone(),
        ItemSource::Provided { .. } | ItemSource::Text { .. } => panic!("item {i} is not a file"),
    }
}

/// The text and origin of item `i`.
pub fn text_of_item(index: &DatasetIndex, i: usize) -> (String, String) {
    match &index.items[i].source {
        ItemSource::Text { text, origin } => (text.to_string(), origin.clone()),
        other => panic!("item {i} is not a text: {other:?}"),
    }
}

/// Asserts that labels are dense `0..n`, training classes first, and the splits class-disjoint.
pub fn assert_dense_disjoint(index: &DatasetIndex) {
    let labels = |s: Split| -> std::collections::BTreeSet<u32> {
        index
            .items
            .iter()
            .filter(|i| i.split == s)
            .map(|i| i.label)
            .collect()
    };
    let (train, test) = (labels(Split::Train), labels(Split::Test));
    assert!(train.is_disjoint(&test), "splits share classes");
    let all: Vec<u32> = train.iter().chain(test.iter()).copied().collect();
    assert_eq!(
        all,
        (0..all.len() as u32).collect::<Vec<_>>(),
        "labels not dense, train first"
    );
}

/// Moves everything in `root` into `root/sub` (creating it), as when an archive's top folder
/// is kept.
pub fn nest(root: &Path, sub: &str) {
    let entries: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let dest = root.join(sub);
    std::fs::create_dir_all(&dest).unwrap();
    for entry in entries {
        std::fs::rename(&entry, dest.join(entry.file_name().unwrap())).unwrap();
    }
}

/// Asserts that `err` is a `DataError::NotFound` whose message names `root/place` for every
/// place.
pub fn assert_looked(err: &xbn_data::DataError, root: &Path, places: &[&str]) {
    let xbn_data::DataError::NotFound { looked, .. } = err else {
        panic!("not a NotFound error: {err:?}")
    };
    for place in places {
        let path = root.join(place);
        assert!(looked.contains(&path), "{} not in {err}", path.display());
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
