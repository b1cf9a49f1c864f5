//! Where each archive of a manifest comes from: a file the user passed with `--archive`, a copy
//! in one of the manifest's local folders (e.g. a Debian package), a download, or nowhere (a
//! dataset behind a form, not supplied yet).

use std::path::PathBuf;

use super::error::{FetchError, Result};
use super::install::InstallOptions;
use super::manifest::{Archive, Manifest};

/// The source chosen for one archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Given with `--archive` (never moved or deleted).
    User(PathBuf),
    /// Found in one of the manifest's `local_dirs` (never moved or deleted).
    Local(PathBuf),
    /// To be downloaded into `dest` from `urls`, in order.
    Download {
        /// `<root>/.downloads/<file>`.
        dest: PathBuf,
        /// `--mirror` first, then the manifest's URLs, then its mirrors.
        urls: Vec<String>,
    },
    /// Behind a form and not supplied.
    Manual,
}

/// Chooses a source for every archive of `manifest`, in manifest order.
///
/// `--archive` files are matched by file name; with a single archive in the manifest and a
/// single `--archive`, the name may differ. A `--archive` matching nothing is an error.
pub fn resolve_sources(manifest: &Manifest, options: &InstallOptions) -> Result<Vec<Source>> {
    let mut given = Vec::new();
    for path in &options.archives {
        if !path.is_file() {
            return Err(FetchError::BadArchiveArgument {
                path: path.clone(),
                message: "no such file".into(),
            });
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let matched = manifest
            .archives
            .iter()
            .position(|a| a.file == name)
            .or_else(|| (manifest.archives.len() == 1 && options.archives.len() == 1).then_some(0));
        match matched {
            Some(i) => given.push((i, path.clone())),
            None => {
                let names: Vec<&str> = manifest.archives.iter().map(|a| a.file.as_str()).collect();
                return Err(FetchError::BadArchiveArgument {
                    path: path.clone(),
                    message: format!(
                        "matches no archive of `{}` (expected: {})",
                        manifest.name,
                        names.join(", ")
                    ),
                });
            }
        }
    }
    Ok(manifest
        .archives
        .iter()
        .enumerate()
        .map(|(i, archive)| {
            if let Some((_, path)) = given.iter().find(|(j, _)| *j == i) {
                return Source::User(path.clone());
            }
            if let Some(path) = local_copy(manifest, archive) {
                return Source::Local(path);
            }
            let mut urls = Vec::new();
            if let Some(mirror) = &options.mirror {
                urls.push(format!("{}/{}", mirror.trim_end_matches('/'), archive.file));
            } else if manifest.manual.is_some() {
                // Behind a form: only a mirror of the user's own can serve it.
                return Source::Manual;
            }
            if manifest.manual.is_none() {
                urls.extend(archive.urls.iter().cloned());
                urls.extend(archive.mirrors.iter().cloned());
            }
            Source::Download {
                dest: options.root.join(".downloads").join(&archive.file),
                urls,
            }
        })
        .collect())
}

fn local_copy(manifest: &Manifest, archive: &Archive) -> Option<PathBuf> {
    manifest
        .local_dirs
        .iter()
        .map(|dir| PathBuf::from(dir).join(&archive.file))
        .find(|p| p.is_file())
}
