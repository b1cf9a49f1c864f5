//! Finding a dataset's files in the layouts its authors ship and in their common variants (the
//! archive's top folder kept or not, annotation lists beside the images or in their own
//! folder). The readers try a fixed list of places in order; when none holds what they need,
//! [`DataError::NotFound`] lists every place tried.

use std::path::{Path, PathBuf};

use crate::{DataError, Result};

/// Joins paths for an error message: `a, b, c`.
pub fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What kind of entry a search wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A regular file (or a link to one).
    File,
    /// A folder (or a link to one).
    Folder,
}

impl Entry {
    fn matches(self, path: &Path) -> bool {
        match self {
            Entry::File => path.is_file(),
            Entry::Folder => path.is_dir(),
        }
    }
}

/// `root/top/rel` for every top folder in `tops` (`""` is `root` itself) and every `rel`, in
/// that order, without repeats.
pub(crate) fn under_tops(root: &Path, tops: &[&str], rels: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for top in tops {
        for rel in rels {
            let path = root.join(top).join(rel);
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

/// The first of `candidates` that is an `entry`, or [`DataError::NotFound`] naming `what` and
/// every candidate.
pub(crate) fn first_existing(
    root: &Path,
    what: &str,
    candidates: Vec<PathBuf>,
    entry: Entry,
) -> Result<PathBuf> {
    match candidates.iter().find(|p| entry.matches(p)) {
        Some(found) => Ok(found.clone()),
        None => Err(DataError::NotFound {
            root: root.to_path_buf(),
            what: what.to_string(),
            looked: candidates,
        }),
    }
}

/// The last of the top folders `tops` (under `root`; `""` is `root` itself) that `found`
/// lies in, so a named top folder wins over `""`; `root` when none does.
pub(crate) fn top_containing(root: &Path, tops: &[&str], found: &Path) -> PathBuf {
    tops.iter()
        .rev()
        .map(|t| root.join(t))
        .find(|t| found.starts_with(t))
        .unwrap_or_else(|| root.to_path_buf())
}
