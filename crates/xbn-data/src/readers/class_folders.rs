//! Datasets laid out as a folder per class, `root/<class>/<file>`, and their split: `root/train/`
//! and `root/test/` when both exist, otherwise the [`split_by_fraction`] of the name-sorted
//! classes. The `folder` (images) and `text-folder` (texts) readers share it.

use std::path::{Path, PathBuf};

use super::class_split::split_by_fraction;
use crate::index::Split;
use crate::{DataError, Result};

/// One class: its name and its samples.
pub(crate) type Class<T> = (String, Vec<T>);

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Sorted entries of `dir` that are visible folders (`extensions` empty) or visible files whose
/// extension is one of `extensions` (case-insensitive).
fn entries(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
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
        let keep = if extensions.is_empty() {
            path.is_dir()
        } else {
            path.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
        };
        if keep {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The classes of `dir` (sorted by folder name) that have samples: `load` turns the sorted files
/// with one of `extensions` of a class folder into its samples. Deeper nesting below a class
/// folder is ignored.
fn classes<T>(
    dir: &Path,
    extensions: &[&str],
    load: &mut impl FnMut(&[PathBuf]) -> Result<Vec<T>>,
) -> Result<Vec<Class<T>>> {
    let mut out = Vec::new();
    for class_dir in entries(dir, &[])? {
        let files = entries(&class_dir, extensions)?;
        let samples = load(&files)?;
        let name = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !samples.is_empty() {
            out.push((name, samples));
        }
    }
    Ok(out)
}

/// The classes of `root` with their split: those of `root/train/` then those of `root/test/`
/// when both exist, otherwise the classes of `root` split by `fraction`. Only classes with
/// samples count (see [`classes`]).
pub(crate) fn split_class_folders<T>(
    root: &Path,
    extensions: &[&str],
    fraction: f64,
    mut load: impl FnMut(&[PathBuf]) -> Result<Vec<T>>,
) -> Result<Vec<(Split, Class<T>)>> {
    let (train_dir, test_dir) = (root.join("train"), root.join("test"));
    if train_dir.is_dir() && test_dir.is_dir() {
        let mut out = Vec::new();
        for (split, dir) in [(Split::Train, &train_dir), (Split::Test, &test_dir)] {
            out.extend(
                classes(dir, extensions, &mut load)?
                    .into_iter()
                    .map(|c| (split, c)),
            );
        }
        Ok(out)
    } else {
        split_by_fraction(classes(root, extensions, &mut load)?, fraction)
    }
}
