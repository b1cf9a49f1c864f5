//! DeepFashion2 consumer-to-shop retrieval (Ge et al., CVPR 2019), as distributed: per split a
//! folder with `annos/<id>.json` beside `image/<id>.jpg`. Each JSON file has `source` (`user` or
//! `shop`), `pair_id`, and `item1`, `item2`, … each with `style`, `category_id` and
//! `bounding_box` `[x1, y1, x2, y2]`. An item's class is `(pair_id, style)` for `style > 0`
//! (style 0 items have no match and are left out); each item is one index entry cropped to its
//! box. The training split is read from `train/`, the test split from `validation/` (the public
//! split with annotations); in the test split user items are queries and shop items the gallery.
//! Pair ids of the two splits are separate products, so classes are keyed by split too.
//!
//! `train.zip` and `validation.zip` unpack to `train/` and `validation/`; the root is the folder
//! holding both, or its parent when they sit in a kept `DeepFashion2/` folder ([`TOPS`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::LoadOptions;
use super::common::{IndexBuilder, ReaderOutput};
use super::locate::{Entry, first_existing, under_tops};
use crate::index::{BoundingBox, Role, Split};
use crate::{DataError, Result};

fn annotation_error(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Annotation {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Sorted `*.json` files of `dir`.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn box_of(path: &Path, name: &str, item: &Value) -> Result<BoundingBox> {
    let coords: Option<Vec<f64>> = item
        .get("bounding_box")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect());
    let Some(c) = coords.filter(|c| c.len() == 4) else {
        return Err(annotation_error(
            path,
            format!("{name}.bounding_box must be [x1, y1, x2, y2]"),
        ));
    };
    if c.iter().any(|v| *v < 0.0) || c[2] <= c[0] || c[3] <= c[1] {
        return Err(annotation_error(
            path,
            format!(
                "{name}.bounding_box {c:?} is empty or negative (need 0 <= x1 < x2, 0 <= y1 < y2)"
            ),
        ));
    }
    let [x1, y1, x2, y2] = [c[0], c[1], c[2], c[3]].map(|v| v.round() as u32);
    Ok(BoundingBox { x1, y1, x2, y2 })
}

fn integer(path: &Path, name: &str, value: Option<&Value>) -> Result<u64> {
    value
        .and_then(Value::as_u64)
        .ok_or_else(|| annotation_error(path, format!("`{name}` must be a non-negative integer")))
}

/// One clothing item of an annotation file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotatedItem {
    /// Its key in the file (`item1`, `item2`, …).
    pub name: String,
    /// Its style (0: no match in the other source).
    pub style: u64,
    /// Its bounding box.
    pub crop: BoundingBox,
}

/// What one annotation file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The role of its items in `split` (from `source`).
    pub role: Role,
    /// The `pair_id`.
    pub pair_id: u64,
    /// Its items, in the order of their numbers.
    pub items: Vec<AnnotatedItem>,
}

/// Parses the bytes of one annotation file of `split`, named `origin` in errors.
pub fn parse_annotation(bytes: &[u8], origin: &Path, split: Split) -> Result<Annotation> {
    let path = origin;
    let json: Value = serde_json::from_slice(bytes).map_err(|e| DataError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let role = match (split, json.get("source").and_then(Value::as_str)) {
        (Split::Train, Some("user" | "shop")) => Role::Train,
        (Split::Test, Some("user")) => Role::Query,
        (Split::Test, Some("shop")) => Role::Gallery,
        (_, other) => {
            return Err(annotation_error(
                path,
                format!("`source` must be \"user\" or \"shop\", found {other:?}"),
            ));
        }
    };
    let pair_id = integer(path, "pair_id", json.get("pair_id"))?;
    let mut numbered: Vec<(u64, &str, &Value)> = json
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.strip_prefix("item")?.parse().ok()?, k.as_str(), v)))
        .collect();
    numbered.sort_by_key(|(n, _, _)| *n);
    let mut items = Vec::with_capacity(numbered.len());
    for (_, name, item) in numbered {
        let style = integer(path, &format!("{name}.style"), item.get("style"))?;
        integer(
            path,
            &format!("{name}.category_id"),
            item.get("category_id"),
        )?;
        let crop = box_of(path, name, item)?;
        items.push(AnnotatedItem {
            name: name.to_string(),
            style,
            crop,
        });
    }
    Ok(Annotation {
        role,
        pair_id,
        items,
    })
}

/// The dataset's folder, which may be kept above `train/` and `validation/` (`""`: the root).
pub const TOPS: [&str; 2] = ["", "DeepFashion2"];

/// Reads DeepFashion2 from `root` (the folder holding `train/` and `validation/`, or its
/// parent).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let annos = first_existing(
        root,
        "the DeepFashion2 training annotations `train/annos/`",
        under_tops(root, &TOPS, &["train/annos"]),
        Entry::Folder,
    )?;
    let root = annos
        .parent()
        .and_then(Path::parent)
        .unwrap_or(root)
        .to_path_buf();
    let root = root.as_path();
    let mut builder = IndexBuilder::new(options.verify_files);
    for (folder, split) in [("train", Split::Train), ("validation", Split::Test)] {
        let dir = root.join(folder);
        for path in json_files(&dir.join("annos"))? {
            let bytes = std::fs::read(&path).map_err(io_error(&path))?;
            let annotation = parse_annotation(&bytes, &path, split)?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let image = dir.join("image").join(format!("{stem}.jpg"));
            for item in annotation.items.into_iter().filter(|i| i.style > 0) {
                builder.push_file(
                    image.clone(),
                    Some(item.crop),
                    (split, annotation.pair_id, item.style),
                    split,
                    annotation.role,
                    || format!("{} ({})", path.display(), item.name),
                )?;
            }
        }
    }
    Ok(builder.finish("deepfashion2"))
}
