//! In-Shop Clothes Retrieval (DeepFashion, Liu et al., CVPR 2016), as distributed:
//! `list_eval_partition.txt` in the dataset root (the `Eval/` folder of the download) holds a
//! first line with the number of images, a second line `image_name item_id evaluation_status`,
//! then one line per image, columns separated by runs of spaces. `image_name` is relative to the
//! root and starts with `img/`. Items with status `train` form the training split (3,997 items);
//! `query` and `gallery` images form the test split (3,985 items) with those roles.

use std::path::Path;

use super::LoadOptions;
use super::common::{IndexBuilder, ReaderOutput, fields, numbered_lines, parse_error, parse_u64};
use crate::Result;
use crate::index::{Role, Split};

const HEADER: &str = "image_name item_id evaluation_status";

/// Reads In-Shop from `root` (the folder holding `list_eval_partition.txt` and `img/`).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let path = root.join("list_eval_partition.txt");
    let lines = numbered_lines(&path)?;
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
        builder.push_file(root.join(f[0]), None, f[1].to_string(), split, role, || {
            format!("{}:{no}", path.display())
        })?;
    }
    Ok(builder.finish("inshop"))
}
