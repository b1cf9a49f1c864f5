//! Dataset manifests: one TOML file per dataset in `datasets/`, naming where its archives come
//! from, their published checksums, how they unpack and which files prove a complete install.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{FetchError, IoContext, Result};
use super::safe_path::relative_components;

/// How an archive is unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ArchiveFormat {
    /// A zip file (`zip` crate).
    #[serde(rename = "zip")]
    Zip,
    /// A gzip-compressed tar file (`tar` + `flate2`).
    #[serde(rename = "tar.gz")]
    TarGz,
    /// A plain file copied as-is (e.g. Fashion-MNIST's `*-ubyte.gz`, read compressed).
    #[serde(rename = "file")]
    File,
}

/// Another accepted set of checksums for the same archive (e.g. a distribution's repack).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// Where this variant comes from.
    pub source: String,
    /// Size in bytes, when known.
    pub bytes: Option<u64>,
    /// Lower-case hex SHA-256, when known.
    pub sha256: Option<String>,
    /// Lower-case hex MD5, when known.
    pub md5: Option<String>,
}

/// One downloadable file of a dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    /// File name, as published (also the name `--archive` files are matched by).
    pub file: String,
    /// How it is unpacked.
    pub format: ArchiveFormat,
    /// Size in bytes as published, when known (shown by `--list`, used for progress).
    pub bytes: Option<u64>,
    /// Published lower-case hex SHA-256, when known.
    pub sha256: Option<String>,
    /// Published lower-case hex MD5, when known.
    pub md5: Option<String>,
    /// Primary http(s) URLs, tried in order.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Mirrors (not the publisher's own server), tried after `urls`.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Sub-folder of the dataset folder the archive is unpacked into ("" = the folder itself).
    #[serde(default)]
    pub into: String,
    /// Leading path components dropped from every entry (like `tar --strip-components`).
    #[serde(default)]
    pub strip_components: usize,
    /// Other accepted checksum sets (e.g. Debian's recompressed copy).
    #[serde(default)]
    pub alternatives: Vec<Alternative>,
}

/// The manual step of a dataset distributed behind an agreement form or a password.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manual {
    /// Where the form / download page is.
    pub url: String,
    /// What to do there, in plain words.
    pub steps: String,
}

/// A dataset manifest (`datasets/<name>.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name used on the command line (`sop`, `cub`, …).
    pub name: String,
    /// Full name of the dataset.
    pub title: String,
    /// Project page.
    pub homepage: String,
    /// Licence / terms of use, one line.
    pub terms: String,
    /// Folder under the data root the dataset is installed into.
    pub folder: String,
    /// Dataset kind understood by `xbn_data::check` (`sop`, `inshop`, …), if any.
    pub kind: Option<String>,
    /// Files (relative to `folder`) whose presence proves a complete install. An entry may
    /// name alternatives separated by `|` (any one suffices, see [`proof_alternatives`]), for
    /// datasets whose copies come flattened or as distributed (`list.txt | Eval/list.txt`).
    pub proof: Vec<String>,
    /// Local folders that may already hold the archives (e.g. a Debian package's install).
    #[serde(default)]
    pub local_dirs: Vec<String>,
    /// The manual step, for datasets that cannot be downloaded without a form.
    pub manual: Option<Manual>,
    /// The conversion that builds the dataset from its unpacked source files (`wordnet`), if
    /// any; the archives are then unpacked into a scratch folder, not the dataset folder.
    pub convert: Option<super::convert::Conversion>,
    /// The files that make up the dataset.
    pub archives: Vec<Archive>,
}

impl Manifest {
    /// Parses and validates a manifest from TOML text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let bad = |message: String| FetchError::Manifest {
            path: path.to_path_buf(),
            message,
        };
        let manifest: Manifest = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        manifest.validate().map_err(bad)?;
        Ok(manifest)
    }

    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).at(path)?;
        Self::parse(&text, path)
    }

    /// Total published size of the archives, when every size is known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.archives.iter().map(|a| a.bytes).sum()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(format!("name `{}` must be non-empty [a-z0-9-]", self.name));
        }
        let single = |what: &str, value: &str| match relative_components(value) {
            Ok(parts) if !parts.is_empty() => Ok(()),
            _ => Err(format!("{what} `{value}` must be a plain relative path")),
        };
        if relative_components(&self.folder).map(|p| p.len()) != Ok(1) {
            return Err(format!(
                "folder `{}` must be a single plain folder name",
                self.folder
            ));
        }
        if let Some(kind) = &self.kind {
            kind.parse::<xbn_data::DatasetKind>()
                .map_err(|e| e.to_string())?;
        }
        if self.archives.is_empty() {
            return Err("at least one [[archives]] entry is required".into());
        }
        for proof in &self.proof {
            for alternative in proof_alternatives(proof) {
                single("proof", alternative)?;
            }
        }
        for archive in &self.archives {
            if relative_components(&archive.file).map(|p| p.len()) != Ok(1) {
                return Err(format!(
                    "archive file `{}` must be a bare file name",
                    archive.file
                ));
            }
            if !archive.into.is_empty() {
                single("into", &archive.into)?;
            }
            for url in archive.urls.iter().chain(&archive.mirrors) {
                check_scheme(url).map_err(|e| e.to_string())?;
            }
            check_hex("sha256", archive.sha256.as_deref(), 64)?;
            check_hex("md5", archive.md5.as_deref(), 32)?;
            for alt in &archive.alternatives {
                check_hex("sha256", alt.sha256.as_deref(), 64)?;
                check_hex("md5", alt.md5.as_deref(), 32)?;
            }
        }
        Ok(())
    }
}

/// The alternatives of a proof entry: its `|`-separated parts, trimmed.
pub fn proof_alternatives(entry: &str) -> impl Iterator<Item = &str> {
    entry.split('|').map(str::trim)
}

/// A proof entry for people: its alternatives joined by ` or `.
pub fn describe_proof(entry: &str) -> String {
    proof_alternatives(entry).collect::<Vec<_>>().join(" or ")
}

fn check_hex(what: &str, value: Option<&str>, len: usize) -> std::result::Result<(), String> {
    match value {
        Some(v)
            if v.len() != len
                || !v
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) =>
        {
            Err(format!("{what} `{v}` must be {len} lower-case hex digits"))
        }
        _ => Ok(()),
    }
}

/// Refuses every URL that is not `http://` or `https://`.
pub fn check_scheme(url: &str) -> Result<()> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(FetchError::UnsupportedScheme {
            url: url.to_string(),
        })
    }
}

/// Loads every `*.toml` manifest in `dir`, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let path: PathBuf = entry.at(dir)?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            manifests.push(Manifest::load(&path)?);
        }
    }
    manifests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(manifests)
}

/// Finds the manifest called `name` in `dir`.
pub fn find(dir: &Path, name: &str) -> Result<Manifest> {
    let all = load_all(dir)?;
    let known = all
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    all.into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| FetchError::UnknownDataset {
            name: name.to_string(),
            known,
        })
}
