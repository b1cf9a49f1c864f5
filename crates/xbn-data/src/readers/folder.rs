//! A folder per class, for users' own data: `root/<class>/<image>` (JPEG or PNG, any depth of
//! nesting below the class folder is ignored). Classes are sorted by folder name; the first
//! `round(fraction · n)` classes train and the rest test, with `fraction` from
//! [`LoadOptions::folder_train_fraction`]. If `root` holds `train/` and `test/`, those are the
//! splits instead, and a class name found in both is an error (splits must be class-disjoint).

use std::path::{Path, PathBuf};

use super::LoadOptions;
use super::common::{IndexBuilder, ReaderOutput};
use crate::index::{Role, Split};
use crate::{DataError, Result};

/// File extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Sorted entries of `dir` that are visible folders (`want_dirs`) or image files.
fn entries(dir: &Path, want_dirs: bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let keep = if want_dirs {
            path.is_dir()
        } else {
            path.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        };
        if keep {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Non-empty class folders of `dir`, each with its sorted image files.
fn classes(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut out = Vec::new();
    for class_dir in entries(dir, true)? {
        let images = entries(&class_dir, false)?;
        let name = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !images.is_empty() {
            out.push((name, images));
        }
    }
    Ok(out)
}

/// Reads a folder-per-class dataset from `root`.
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let (train_dir, test_dir) = (root.join("train"), root.join("test"));
    let mut builder = IndexBuilder::new(false);
    let mut push = |split: Split, name: String, images: Vec<PathBuf>| -> Result<()> {
        let role = if split == Split::Train {
            Role::Train
        } else {
            Role::QueryAndReference
        };
        let class_dir = images
            .first()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf);
        for path in images {
            builder.push_file(path, None, name.clone(), split, role, || {
                class_dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            })?;
        }
        Ok(())
    };
    if train_dir.is_dir() && test_dir.is_dir() {
        for (split, dir) in [(Split::Train, &train_dir), (Split::Test, &test_dir)] {
            for (name, images) in classes(dir)? {
                push(split, name, images)?;
            }
        }
    } else {
        let fraction = options.folder_train_fraction;
        if !(0.0..=1.0).contains(&fraction) {
            return Err(DataError::Config(format!(
                "folder_train_fraction must be in [0, 1], found {fraction}"
            )));
        }
        let all = classes(root)?;
        let n_train = (fraction * all.len() as f64).round() as usize;
        for (i, (name, images)) in all.into_iter().enumerate() {
            push(
                if i < n_train {
                    Split::Train
                } else {
                    Split::Test
                },
                name,
                images,
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
