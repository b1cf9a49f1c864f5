//! CUB-200-2011 (Wah et al., 2011), as distributed in `CUB_200_2011.tgz`: `images.txt`
//! (`image_id path`, paths relative to `images/`) and `image_class_labels.txt`
//! (`image_id class_id`) in the dataset root. Classes 1–100 (5,864 images) train, classes
//! 101–200 (5,924 images) test, leave-one-out protocol.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::LoadOptions;
use super::common::{
    IndexBuilder, ReaderOutput, fields, numbered_lines_of, parse_error, parse_u64,
};
use super::locate::{Entry, first_existing, under_tops};
use crate::index::{Role, Split};
use crate::{DataError, Result};

/// Classes `1..=TRAIN_CLASSES` train, the rest test.
pub const TRAIN_CLASSES: u64 = 100;

/// The archive's top folder, which may be kept above the dataset (`""`: the root itself).
pub const TOPS: [&str; 2] = ["", "CUB_200_2011"];

/// The folder holding `images.txt`: `root` itself or `root/CUB_200_2011` (the archive's
/// folder), or [`DataError::NotFound`] naming both.
fn dataset_dir(root: &Path) -> Result<PathBuf> {
    let images = first_existing(
        root,
        "the CUB image list `images.txt`",
        under_tops(root, &TOPS, &["images.txt"]),
        Entry::File,
    )?;
    Ok(images.parent().unwrap_or(root).to_path_buf())
}

/// Reads CUB-200-2011 from `root` (the folder holding `images.txt`, or its parent).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let dir = dataset_dir(root)?;
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| DataError::Io { path, source })
    };
    let labels = read("image_class_labels.txt")?;
    parse(&read("images.txt")?, &labels, &dir, options)
}

/// Parses the bytes of `images.txt` and `image_class_labels.txt`, which are named in errors as
/// if in `dir`; images are under `dir/images/` (only stat-ed with `options.verify_files`).
pub fn parse(
    images: &[u8],
    labels: &[u8],
    dir: &Path,
    options: &LoadOptions,
) -> Result<ReaderOutput> {
    let labels_bytes = labels;
    let labels_path = dir.join("image_class_labels.txt");
    let mut labels = BTreeMap::new();
    for (no, line) in numbered_lines_of(labels_bytes, &labels_path)? {
        let f = fields(&labels_path, no, &line, "image_id class_id")?;
        let id = parse_u64(&labels_path, no, "image_id", f[0])?;
        let class = parse_u64(&labels_path, no, "class_id", f[1])?;
        if class == 0 {
            return Err(parse_error(
                &labels_path,
                no,
                "class_id starts at 1, found 0",
            ));
        }
        if labels.insert(id, (class, no)).is_some() {
            return Err(parse_error(
                &labels_path,
                no,
                format!("image_id {id} is listed twice"),
            ));
        }
    }
    let images_path = dir.join("images.txt");
    let images = numbered_lines_of(images, &images_path)?;
    if images.len() != labels.len() {
        return Err(DataError::Layout(format!(
            "{} lists {} images but {} lists {}",
            images_path.display(),
            images.len(),
            labels_path.display(),
            labels.len()
        )));
    }
    let mut builder = IndexBuilder::new(options.verify_files);
    for (no, line) in images {
        let f = fields(&images_path, no, &line, "image_id path")?;
        let id = parse_u64(&images_path, no, "image_id", f[0])?;
        let Some(&(class, _)) = labels.get(&id) else {
            return Err(parse_error(
                &images_path,
                no,
                format!("image_id {id} has no line in {}", labels_path.display()),
            ));
        };
        let (split, role) = if class <= TRAIN_CLASSES {
            (Split::Train, Role::Train)
        } else {
            (Split::Test, Role::QueryAndReference)
        };
        builder.push_file(
            dir.join("images").join(f[1]),
            None,
            class,
            split,
            role,
            || format!("{}:{no}", images_path.display()),
        )?;
    }
    Ok(builder.finish("cub"))
}
