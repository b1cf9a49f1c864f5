//! A folder per class, for users' own data: `root/<class>/<image>` (JPEG or PNG, any depth of
//! nesting below the class folder is ignored). Classes are sorted by folder name; the first
//! `round(fraction · n)` classes train and the rest test, with `fraction` from
//! [`LoadOptions::folder_train_fraction`]. If `root` holds `train/` and `test/`, those are the
//! splits instead, and a class name found in both is an error (splits must be class-disjoint).

use std::path::Path;

use super::LoadOptions;
use super::class_folders::split_class_folders;
use super::class_split::leave_one_out_role;
use super::common::{IndexBuilder, ReaderOutput};
use crate::{DataError, Result};

/// File extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Reads a folder-per-class dataset from `root`.
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let mut builder = IndexBuilder::new(false);
    let classes = split_class_folders(
        root,
        &IMAGE_EXTENSIONS,
        options.folder_train_fraction,
        |files| Ok(files.to_vec()),
    )?;
    for (split, (name, images)) in classes {
        let class_dir = images
            .first()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf);
        let listed_in = || {
            class_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        };
        for path in images {
            builder.push_file(
                path,
                None,
                name.clone(),
                split,
                leave_one_out_role(split),
                listed_in,
            )?;
        }
    }
    let out = builder.finish("folder");
    if out.index.items.is_empty() {
        return Err(DataError::Layout(format!(
            "{}: no class folders with images (.jpg, .jpeg, .png) found",
            root.display()
        )));
    }
    Ok(out)
}
