//! In-Shop Clothes Retrieval (DeepFashion, Liu et al., CVPR 2016), as distributed: the
//! download's top folder (`In-shop Clothes Retrieval Benchmark/`) holds
//! `Eval/list_eval_partition.txt` and `Img/img.zip`, which unpacks to `Img/img/…`. The list has
//! a first line with the number of images, a second line `image_name item_id
//! evaluation_status`, then one line per image, columns separated by runs of spaces.
//! `image_name` starts with `img/` and is relative to the folder holding `img/`. Items with
//! status `train` form the training split (3,997 items); `query` and `gallery` images form the
//! test split (3,985 items) with those roles.
//!
//! Accepted layouts, under the root or under `root/In-shop Clothes Retrieval Benchmark/`: the
//! list in `Eval/` or beside `img/` (flattened), and `img/` in the list's folder, in the top
//! folder or in its `Img/` (see [`LIST_PLACES`] and [`image_bases`]).

use std::path::{Path, PathBuf};

use super::LoadOptions;
use super::common::{
    IndexBuilder, ReaderOutput, fields, numbered_lines_of, parse_error, parse_u64,
};
use super::locate::{Entry, first_existing, top_containing, under_tops};
use crate::Result;
use crate::index::{Role, Split};

const HEADER: &str = "image_name item_id evaluation_status";
/// The partition list's file name.
pub const LIST: &str = "list_eval_partition.txt";
/// The download's top folder, which may be kept above the dataset (`""`: the root itself).
pub const TOPS: [&str; 2] = ["", "In-shop Clothes Retrieval Benchmark"];
/// Where the partition list may be, relative to a top folder, in the order tried.
pub const LIST_PLACES: [&str; 2] = [LIST, "Eval/list_eval_partition.txt"];

/// The folders that may hold `img/` for a list at `list` found under the top folder `top`, in
/// the order tried: the list's own folder, the top folder, and the top folder's `Img/`.
pub fn image_bases(top: &Path, list: &Path) -> Vec<PathBuf> {
    let mut bases = Vec::new();
    for base in [list.parent().unwrap_or(top), top, &top.join("Img")] {
        if !bases.iter().any(|b: &PathBuf| b == base) {
            bases.push(base.to_path_buf());
        }
    }
    bases
}

/// The partition list and the folder holding `img/` under `root`, or
/// [`DataError::NotFound`](crate::DataError::NotFound) naming every place tried. Without
/// `verify_files`, a missing `img/` is not an error and the list's folder is used.
fn locate(root: &Path, verify_files: bool) -> Result<(PathBuf, PathBuf)> {
    let list = first_existing(
        root,
        &format!("the In-Shop partition list `{LIST}`"),
        under_tops(root, &TOPS, &LIST_PLACES),
        Entry::File,
    )?;
    let top = top_containing(root, &TOPS, &list);
    let bases = image_bases(&top, &list);
    let folders: Vec<PathBuf> = bases.iter().map(|b| b.join("img")).collect();
    match first_existing(
        root,
        &format!("the In-Shop image folder `img/` (for {})", list.display()),
        folders,
        Entry::Folder,
    ) {
        Ok(img) => Ok((list, img.parent().unwrap_or(&top).to_path_buf())),
        Err(e) if verify_files => Err(e),
        Err(_) => Ok((list.clone(), bases[0].clone())),
    }
}

/// Reads In-Shop from `root`: the download's top folder, its parent, or a flattened copy (the
/// list beside `img/`).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let (path, base) = locate(root, options.verify_files)?;
    read_list(&path, &base, options)
}

/// Reads the partition list at `path`, image names relative to `base`.
fn read_list(path: &Path, base: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let bytes = std::fs::read(path).map_err(|source| crate::DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes, path, base, options)
}

/// Parses the bytes of a partition list; `origin` names it in errors and image names are
/// relative to `base` (only stat-ed with `options.verify_files`).
pub fn parse(
    list: &[u8],
    origin: &Path,
    base: &Path,
    options: &LoadOptions,
) -> Result<ReaderOutput> {
    let path = origin.to_path_buf();
    let lines = numbered_lines_of(list, &path)?;
    let (count_no, count_line) = lines
        .first()
        .ok_or_else(|| parse_error(&path, 1, "empty file; expected the number of images"))?;
    let count = parse_u64(&path, *count_no, "the image count", count_line)? as usize;
    let header_ok = lines.get(1).is_some_and(|(_, h)| {
        h.split_whitespace().collect::<Vec<_>>() == HEADER.split_whitespace().collect::<Vec<_>>()
    });
    if !header_ok {
        let (no, found) = lines
            .get(1)
            .cloned()
            .unwrap_or((count_no + 1, String::new()));
        return Err(parse_error(
            &path,
            no,
            format!("expected the header `{HEADER}`, found `{found}`"),
        ));
    }
    let body = &lines[2..];
    if body.len() != count {
        return Err(parse_error(
            &path,
            *count_no,
            format!(
                "the first line says {count} images but the file lists {}",
                body.len()
            ),
        ));
    }
    let mut builder = IndexBuilder::new(options.verify_files);
    for (no, line) in body {
        let f = fields(&path, *no, line, HEADER)?;
        let (split, role) = match f[2] {
            "train" => (Split::Train, Role::Train),
            "query" => (Split::Test, Role::Query),
            "gallery" => (Split::Test, Role::Gallery),
            other => {
                return Err(parse_error(
                    &path,
                    *no,
                    format!("evaluation_status must be train, query or gallery, found `{other}`"),
                ));
            }
        };
        builder.push_file(base.join(f[0]), None, f[1].to_string(), split, role, || {
            format!("{}:{no}", path.display())
        })?;
    }
    Ok(builder.finish("inshop"))
}
