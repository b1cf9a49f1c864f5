//! Stanford Online Products (Song et al., CVPR 2016), as distributed: `Ebay_train.txt` and
//! `Ebay_test.txt` in the dataset root, each a header line `image_id class_id super_class_id path`
//! and then one line per image, `path` relative to the root (e.g.
//! `bicycle_final/111085122871_0.JPG`). The 11,318 training classes (class ids 1–11318) and the
//! 11,316 test classes (11319–22634) are disjoint; test images are both queries and references
//! (leave-one-out recall@k).
//!
//! `Stanford_Online_Products.zip` unpacks to `Stanford_Online_Products/`; the root may be that
//! folder or its parent ([`TOPS`]). Paths are relative to the folder holding the lists.

use std::path::Path;

use super::LoadOptions;
use super::common::{
    IndexBuilder, ReaderOutput, fields, numbered_lines_of, parse_error, parse_u64,
};
use super::locate::{Entry, first_existing, under_tops};
use crate::Result;
use crate::index::{Role, Split};

const HEADER: &str = "image_id class_id super_class_id path";
/// The zip's top folder, which may be kept above the dataset (`""`: the root itself).
pub const TOPS: [&str; 2] = ["", "Stanford_Online_Products"];

/// Reads SOP from `root` (the folder holding `Ebay_train.txt`, or its parent).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let train = first_existing(
        root,
        "the SOP training list `Ebay_train.txt`",
        under_tops(root, &TOPS, &["Ebay_train.txt"]),
        Entry::File,
    )?;
    let dir = train.parent().unwrap_or(root);
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| crate::DataError::Io { path, source })
    };
    parse(
        &read("Ebay_train.txt")?,
        &read("Ebay_test.txt")?,
        dir,
        options,
    )
}

/// Parses the bytes of `Ebay_train.txt` and `Ebay_test.txt`, which are named in errors as if in
/// `dir`; image paths are relative to `dir` (only stat-ed with `options.verify_files`).
pub fn parse(train: &[u8], test: &[u8], dir: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let root = dir;
    let mut builder = IndexBuilder::new(options.verify_files);
    for (file, bytes, split, role) in [
        ("Ebay_train.txt", train, Split::Train, Role::Train),
        ("Ebay_test.txt", test, Split::Test, Role::QueryAndReference),
    ] {
        let path = root.join(file);
        let lines = numbered_lines_of(bytes, &path)?;
        let Some((header_no, header)) = lines.first() else {
            return Err(parse_error(
                &path,
                1,
                format!("empty file; expected the header `{HEADER}`"),
            ));
        };
        if header.split_whitespace().collect::<Vec<_>>()
            != HEADER.split_whitespace().collect::<Vec<_>>()
        {
            return Err(parse_error(
                &path,
                *header_no,
                format!("expected the header `{HEADER}`, found `{header}`"),
            ));
        }
        for (no, line) in &lines[1..] {
            let f = fields(&path, *no, line, HEADER)?;
            parse_u64(&path, *no, "image_id", f[0])?;
            let class = parse_u64(&path, *no, "class_id", f[1])?;
            parse_u64(&path, *no, "super_class_id", f[2])?;
            builder.push_file(root.join(f[3]), None, class, split, role, || {
                format!("{}:{no}", path.display())
            })?;
        }
    }
    Ok(builder.finish("sop"))
}
