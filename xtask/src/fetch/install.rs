//! `fetch-data <name>`: obtain every archive (user-supplied, local copy or download), verify
//! all checksums, unpack into `<root>/.<folder>.partial`, check the layout, write the marker and
//! only then rename the folder into place. Any failure removes the partial folder, so nothing
//! that looks complete is ever left behind. A manifest with `convert` has its archives unpacked
//! into `<partial>/.source/`, converted into the partial folder, and the source deleted; with
//! `--from DIR` the conversion reads `DIR` instead ([`super::from_folder`]).

use std::path::{Path, PathBuf};

use super::convert::{ConvertOptions, SOURCE_FOLDER, convert};
use super::download::{DownloadOptions, download};
use super::error::{FetchError, IoContext, Result};
use super::extract::{UnpackPlan, unpack};
use super::layout::{LayoutSummary, check_layout, missing_proof};
use super::manifest::{Archive, Manifest};
use super::marker::{Marker, dataset_folder, is_verified};
use super::progress::Progress;
use super::sources::{Source, resolve_sources};
use super::verify::{Digests, verify_archive};

/// Options of one `fetch-data <name>` run.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// The data root (`datasets/` by default).
    pub root: PathBuf,
    /// A base URL tried first for every archive (`<mirror>/<file>`).
    pub mirror: Option<String>,
    /// Redo a verified install.
    pub force: bool,
    /// Archives the user downloaded by other means.
    pub archives: Vec<PathBuf>,
    /// Keep downloaded archives in `<root>/.downloads/` after a successful install.
    pub keep_archives: bool,
    /// Retry and timeout settings.
    pub download: DownloadOptions,
    /// A local folder of source files to convert instead of the archives (`--from`; only for
    /// manifests with `convert`).
    pub from: Option<PathBuf>,
    /// Options of the manifest's conversion (`--max-per-class`).
    pub convert: ConvertOptions,
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A verified install was already there; nothing was touched.
    AlreadyInstalled(PathBuf),
    /// The dataset was unpacked from verified archives and passed the layout check.
    Installed {
        /// The dataset folder.
        folder: PathBuf,
        /// What the layout check found.
        summary: LayoutSummary,
    },
    /// The user placed the dataset by hand; it passed the layout check and was marked verified.
    VerifiedInPlace {
        /// The dataset folder.
        folder: PathBuf,
        /// What the layout check found.
        summary: LayoutSummary,
    },
}

/// Installs `manifest` under `options.root`.
pub fn install(
    manifest: &Manifest,
    options: &InstallOptions,
    progress: &Progress,
) -> Result<Outcome> {
    let root = &options.root;
    let folder = dataset_folder(root, manifest);
    check_conversion_options(manifest, options)?;
    let same_conversion =
        Marker::read(&folder).is_some_and(|m| m.max_per_class == options.convert.max_per_class);
    if !options.force && is_verified(manifest, &folder) && same_conversion {
        return Ok(Outcome::AlreadyInstalled(folder));
    }
    std::fs::create_dir_all(root).at(root)?;
    if let Some(from) = &options.from {
        return super::from_folder::install_from_folder(manifest, from, options, progress);
    }
    let sources = resolve_sources(manifest, options)?;
    if sources.iter().any(|s| matches!(s, Source::Manual)) {
        if folder.is_dir()
            && options.archives.is_empty()
            && missing_proof(manifest, &folder).is_empty()
        {
            progress.say(&format!(
                "checking the copy placed by hand in {}",
                folder.display()
            ));
            let summary = check_layout(manifest, &folder)?;
            Marker::by_hand(manifest).write(&folder)?;
            return Ok(Outcome::VerifiedInPlace { folder, summary });
        }
        return Err(FetchError::ManualStepRequired(manual_message(
            manifest, options, &sources,
        )));
    }
    let mut verified: Vec<(&Archive, PathBuf, Digests)> = Vec::new();
    for (archive, source) in manifest.archives.iter().zip(&sources) {
        let path = obtain(archive, source, options, progress)?;
        let digests = verify_checked(archive, &path, source, progress)?;
        verified.push((archive, path, digests));
    }
    let partial = root.join(format!(".{}.partial", manifest.folder));
    remove_dir_if_present(&partial)?;
    std::fs::create_dir(&partial).at(&partial)?;
    let summary = match unpack_all(manifest, &verified, &partial, &options.convert, progress) {
        Ok(summary) => summary,
        Err(e) => {
            // Discard everything the failed unpack wrote; the error is what matters.
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    swap_into_place(root, manifest, &partial, &folder)?;
    if !options.keep_archives {
        for ((_, path, _), source) in verified.iter().zip(&sources) {
            if matches!(source, Source::Download { .. }) {
                std::fs::remove_file(path).at(path)?;
            }
        }
        // Leave `.downloads/` only if something else is in it.
        let _ = std::fs::remove_dir(root.join(".downloads"));
    }
    Ok(Outcome::Installed { folder, summary })
}

/// The archive's path on disk, downloading it when needed.
fn obtain(
    archive: &Archive,
    source: &Source,
    options: &InstallOptions,
    progress: &Progress,
) -> Result<PathBuf> {
    match source {
        Source::User(path) | Source::Local(path) => Ok(path.clone()),
        Source::Download { dest, urls } => {
            if !dest.is_file() {
                std::fs::create_dir_all(options.root.join(".downloads")).at(&options.root)?;
                download(urls, dest, archive.bytes, &options.download, progress)?;
            }
            Ok(dest.clone())
        }
        Source::Manual => Err(FetchError::ManualStepRequired(format!(
            "{} must be downloaded by hand",
            archive.file
        ))),
    }
}

/// Verifies an archive; a downloaded file that fails is renamed `<file>.corrupt` and kept.
fn verify_checked(
    archive: &Archive,
    path: &Path,
    source: &Source,
    progress: &Progress,
) -> Result<Digests> {
    progress.say(&format!("verifying {}", path.display()));
    match verify_archive(path, archive, progress) {
        Ok(digests) => {
            if archive.sha256.is_none() && archive.md5.is_none() {
                progress.say(&format!(
                    "  no published checksum for {}; recorded sha256 {}",
                    archive.file, digests.sha256
                ));
            }
            Ok(digests)
        }
        Err(FetchError::ChecksumMismatch {
            path: _,
            algorithm,
            expected,
            actual,
        }) if matches!(source, Source::Download { .. }) => {
            let mut kept = path.as_os_str().to_owned();
            kept.push(".corrupt");
            let kept = PathBuf::from(kept);
            std::fs::rename(path, &kept).at(&kept)?;
            Err(FetchError::ChecksumMismatch {
                path: kept,
                algorithm,
                expected,
                actual,
            })
        }
        Err(e) => Err(e),
    }
}

/// Unpacks every archive into `partial`, checks the layout and writes the marker there.
fn unpack_all(
    manifest: &Manifest,
    verified: &[(&Archive, PathBuf, Digests)],
    partial: &Path,
    convert_options: &ConvertOptions,
    progress: &Progress,
) -> Result<LayoutSummary> {
    let source = partial.join(SOURCE_FOLDER);
    let target = match manifest.convert {
        Some(_) => {
            std::fs::create_dir(&source).at(&source)?;
            source.as_path()
        }
        None => partial,
    };
    for (archive, path, _) in verified {
        progress.say(&format!("unpacking {}", path.display()));
        let plan = UnpackPlan {
            archive: path,
            format: archive.format,
            target,
            into: &archive.into,
            strip_components: archive.strip_components,
        };
        let stats = unpack(&plan, progress)?;
        progress.say(&format!(
            "  {} entries written, {} skipped",
            stats.written, stats.skipped
        ));
    }
    if let Some(conversion) = manifest.convert {
        convert(conversion, &source, partial, convert_options, progress)?;
        std::fs::remove_dir_all(&source).at(&source)?;
    }
    progress.say("checking the layout");
    let summary = check_layout(manifest, partial)?;
    let digests: Vec<(String, Digests)> = verified
        .iter()
        .map(|(a, _, d)| (a.file.clone(), d.clone()))
        .collect();
    let mut marker = Marker::from_archives(manifest, &digests);
    marker.max_per_class = convert_options.max_per_class;
    marker.write(partial)?;
    Ok(summary)
}

/// Refuses `--from` and `--max-per-class` for a manifest without a conversion.
fn check_conversion_options(manifest: &Manifest, options: &InstallOptions) -> Result<()> {
    if manifest.convert.is_none()
        && (options.from.is_some() || options.convert != ConvertOptions::default())
    {
        return Err(FetchError::Usage(format!(
            "--from and --max-per-class apply only to datasets converted from source files \
             (such as wordnet), not to `{}`",
            manifest.name
        )));
    }
    Ok(())
}

/// Replaces `folder` by `partial` (an older copy is moved aside first, then deleted).
pub(crate) fn swap_into_place(
    root: &Path,
    manifest: &Manifest,
    partial: &Path,
    folder: &Path,
) -> Result<()> {
    let old = root.join(format!(".{}.old", manifest.folder));
    if std::fs::symlink_metadata(folder).is_ok() {
        remove_dir_if_present(&old)?;
        std::fs::rename(folder, &old).at(folder)?;
    }
    std::fs::rename(partial, folder).at(folder)?;
    remove_dir_if_present(&old)
}

pub(crate) fn remove_dir_if_present(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path).at(path),
        Ok(_) => std::fs::remove_file(path).at(path),
        Err(_) => Ok(()),
    }
}

/// The instructions printed for a dataset that must be downloaded by hand.
fn manual_message(manifest: &Manifest, options: &InstallOptions, sources: &[Source]) -> String {
    let root = options.root.display();
    let mut text = format!(
        "{} ({}) cannot be downloaded automatically.\nHomepage: {}\nTerms: {}\n",
        manifest.title, manifest.name, manifest.homepage, manifest.terms
    );
    if let Some(manual) = &manifest.manual {
        text.push_str(&format!(
            "Get it from: {}\n{}\n",
            manual.url,
            manual.steps.trim_end()
        ));
    }
    text.push_str("Files needed:\n");
    let mut args = String::new();
    for (archive, source) in manifest.archives.iter().zip(sources) {
        let size = archive
            .bytes
            .map(super::list::human_bytes)
            .unwrap_or_else(|| "size unknown".into());
        let status = if matches!(source, Source::Manual) {
            "missing"
        } else {
            "have"
        };
        text.push_str(&format!("  {} ({size}) [{status}]\n", archive.file));
        args.push_str(&format!(" --archive ~/Downloads/{}", archive.file));
    }
    text.push_str(&format!(
        "Then run:\n  cargo xtask fetch-data {}{} --root {root}\n\
         or unpack them yourself into {root}/{}/ (so that {} exist) and run:\n  cargo xtask fetch-data {} --root {root}",
        manifest.name,
        args,
        manifest.folder,
        manifest
            .proof
            .iter()
            .map(|p| super::manifest::describe_proof(p))
            .collect::<Vec<_>>()
            .join(", "),
        manifest.name
    ));
    text
}
