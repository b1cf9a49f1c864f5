//! The install marker `<folder>/.xbn-fetch.toml`: written last, after the checksums and the
//! layout check passed; its presence (with checksums matching the manifest) is what makes an
//! install "verified" and lets a second `fetch-data` leave it alone.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{FetchError, IoContext, Result};
use super::layout::missing_proof;
use super::manifest::Manifest;
use super::verify::Digests;

/// Name of the marker file inside the dataset folder.
pub const MARKER: &str = ".xbn-fetch.toml";

/// One verified archive, as recorded in the marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkedArchive {
    /// Archive file name.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256.
    pub sha256: String,
    /// Its MD5.
    pub md5: String,
}

/// Contents of the marker file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The manifest name.
    pub dataset: String,
    /// `archives` (unpacked by fetch-data), `by-hand` (placed by the user, layout-checked) or
    /// `folder` (converted from a local folder of source files, `--from`).
    pub source: String,
    /// The archives unpacked, with their checksums.
    #[serde(default)]
    pub archives: Vec<MarkedArchive>,
    /// The local folder converted, for `folder` installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `--max-per-class` of a converted dataset, if it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_class: Option<usize>,
}

impl Marker {
    /// A marker for `manifest` installed from archives with these digests.
    pub fn from_archives(manifest: &Manifest, digests: &[(String, Digests)]) -> Self {
        Self {
            dataset: manifest.name.clone(),
            source: "archives".into(),
            archives: digests
                .iter()
                .map(|(file, d)| MarkedArchive {
                    file: file.clone(),
                    bytes: d.bytes,
                    sha256: d.sha256.clone(),
                    md5: d.md5.clone(),
                })
                .collect(),
            from: None,
            max_per_class: None,
        }
    }

    /// A marker for a dataset the user placed by hand.
    pub fn by_hand(manifest: &Manifest) -> Self {
        Self {
            dataset: manifest.name.clone(),
            source: "by-hand".into(),
            archives: Vec::new(),
            from: None,
            max_per_class: None,
        }
    }

    /// A marker for a dataset converted from the local folder `from`.
    pub fn from_folder(manifest: &Manifest, from: &Path) -> Self {
        Self {
            dataset: manifest.name.clone(),
            source: "folder".into(),
            archives: Vec::new(),
            from: Some(from.display().to_string()),
            max_per_class: None,
        }
    }

    /// Writes the marker into `folder`.
    pub fn write(&self, folder: &Path) -> Result<()> {
        let path = folder.join(MARKER);
        let text = toml::to_string(self).map_err(|e| FetchError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&path, text).at(path)
    }

    /// Reads the marker of `folder`, if there is a readable one.
    pub fn read(folder: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(folder.join(MARKER)).ok()?;
        toml::from_str(&text).ok()
    }
}

/// The dataset's folder under `root`.
pub fn dataset_folder(root: &Path, manifest: &Manifest) -> PathBuf {
    root.join(&manifest.folder)
}

/// `true` when `folder` holds a verified install of `manifest`: a marker naming it, whose
/// recorded checksums agree with every checksum the manifest publishes, and every proof file.
pub fn is_verified(manifest: &Manifest, folder: &Path) -> bool {
    let Some(marker) = Marker::read(folder) else {
        return false;
    };
    if marker.dataset != manifest.name || !missing_proof(manifest, folder).is_empty() {
        return false;
    }
    if marker.source == "by-hand" {
        return manifest.manual.is_some();
    }
    if marker.source == "folder" {
        return manifest.convert.is_some();
    }
    manifest.archives.iter().all(|archive| {
        marker.archives.iter().any(|m| {
            m.file == archive.file
                && agrees(archive.sha256.as_deref(), &m.sha256, archive, |a| {
                    a.sha256.as_deref()
                })
                && agrees(archive.md5.as_deref(), &m.md5, archive, |a| {
                    a.md5.as_deref()
                })
        })
    })
}

/// The recorded digest equals the published one, or one of the alternatives' (or none is published).
fn agrees(
    published: Option<&str>,
    recorded: &str,
    archive: &super::manifest::Archive,
    alt: impl Fn(&super::manifest::Alternative) -> Option<&str>,
) -> bool {
    match published {
        None => true,
        Some(p) => {
            p == recorded
                || archive
                    .alternatives
                    .iter()
                    .any(|a| alt(a) == Some(recorded))
        }
    }
}
