//! Texts in a folder per class: `root/<class>/<file>.txt` (UTF-8; any depth of nesting below the
//! class folder is ignored). With [`TextUnit::Line`] every non-blank line of a file is a sample
//! (origin `path:line`), with [`TextUnit::File`] every file is one (origin `path`); samples are
//! trimmed, and an empty file is an error with [`TextUnit::File`] (a class folder without
//! non-blank lines is no class). The split is the `folder`
//! reader's: `root/train/` and `root/test/` when both exist, otherwise the first
//! `round(fraction · n)` name-sorted classes train ([`LoadOptions::folder_train_fraction`]).
//! Labels are dense, training classes first, each split's classes in name order; items come
//! class by class (names sorted), files sorted, lines in file order.

use std::path::Path;
use std::sync::Arc;

use super::class_folders::split_class_folders;
use super::class_split::leave_one_out_role;
use super::common::{IndexBuilder, ReaderOutput, parse_error, read_text};
use super::min_classes::require_classes;
use super::{LoadOptions, TextUnit};
use crate::Result;
use crate::index::ItemSource;

/// File extensions read as texts (case-insensitive).
pub const TEXT_EXTENSIONS: [&str; 1] = ["txt"];

/// The samples of one file: `(origin, text)`.
fn samples(path: &Path, unit: TextUnit) -> Result<Vec<(String, Arc<str>)>> {
    let text = read_text(path)?;
    match unit {
        TextUnit::File => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(parse_error(path, 1, "empty text file (text_unit = file)"));
            }
            Ok(vec![(path.display().to_string(), Arc::from(trimmed))])
        }
        TextUnit::Line => Ok(text
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line.trim()))
            .filter(|(_, line)| !line.is_empty())
            .map(|(n, line)| (format!("{}:{n}", path.display()), Arc::from(line)))
            .collect()),
    }
}

/// Reads a text-folder dataset from `root`.
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let mut builder = IndexBuilder::new(false);
    let classes = split_class_folders(
        root,
        &TEXT_EXTENSIONS,
        options.folder_train_fraction,
        |files| {
            let mut all = Vec::new();
            for path in files {
                all.extend(samples(path, options.text_unit)?);
            }
            Ok(all)
        },
    )?;
    for (split, (name, samples)) in classes {
        for (origin, text) in samples {
            let listed_in = || origin.clone();
            let source = ItemSource::Text {
                text,
                origin: origin.clone(),
            };
            builder.push(
                source,
                name.clone(),
                split,
                leave_one_out_role(split),
                listed_in,
            )?;
        }
    }
    let out = builder.finish("text-folder");
    require_classes(root, &out.index, "class folders with non-blank .txt files")?;
    Ok(out)
}
