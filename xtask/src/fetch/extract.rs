//! Safe unpacking of zip and tar.gz archives into a target folder.
//!
//! Every entry is checked before it is written: its name must be relative without `..`
//! ([`relative_components`]); no folder on its way may be a link (so nothing is ever written
//! through a link); symbolic-link targets must stay inside ([`check_link_target`]); hard-link
//! targets must be plain files already unpacked inside. A refused entry is an
//! [`FetchError::UnsafeEntry`] naming it; the caller discards the whole target folder.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::error::{FetchError, IoContext, Result};
use super::manifest::ArchiveFormat;
use super::progress::Progress;
use super::safe_path::{check_link_target, relative_components};

/// Where and how to unpack one archive.
#[derive(Debug, Clone)]
pub struct UnpackPlan<'a> {
    /// The archive file.
    pub archive: &'a Path,
    /// Its format.
    pub format: ArchiveFormat,
    /// The folder nothing may be written outside of.
    pub target: &'a Path,
    /// Sub-folder of `target` the entries go to ("" = `target`).
    pub into: &'a str,
    /// Leading components dropped from every entry name.
    pub strip_components: usize,
}

/// What an unpack did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Files, folders and links written.
    pub written: u64,
    /// Entries dropped by `strip_components` or of a kind not unpacked (devices, fifos).
    pub skipped: u64,
}

/// One archive entry, already read from the archive's headers.
enum Kind<R> {
    Dir,
    /// A regular file; `size` is the size its header declares, when the format reads data
    /// without checking it (tar), so that a short entry is an error, not a truncated file.
    File {
        data: R,
        executable: bool,
        size: Option<u64>,
    },
    Symlink(String),
    Hardlink(String),
    Other,
}

/// Unpacks `plan.archive` into `plan.target`, refusing unsafe entries.
pub fn unpack(plan: &UnpackPlan<'_>, progress: &Progress) -> Result<UnpackStats> {
    match plan.format {
        ArchiveFormat::Zip => unpack_zip(plan, progress),
        ArchiveFormat::TarGz => unpack_tar_gz(plan, progress),
        ArchiveFormat::File => {
            let name = super::verify::file_name(plan.archive);
            let mut stats = UnpackStats::default();
            let data = File::open(plan.archive).at(plan.archive)?;
            write_entry(
                plan,
                &name,
                Kind::File {
                    data,
                    executable: false,
                    size: None,
                },
                &mut stats,
            )?;
            Ok(stats)
        }
    }
}

fn archive_error(plan: &UnpackPlan<'_>, message: impl std::fmt::Display) -> FetchError {
    FetchError::Archive {
        archive: plan.archive.to_path_buf(),
        message: message.to_string(),
    }
}

fn unpack_tar_gz(plan: &UnpackPlan<'_>, progress: &Progress) -> Result<UnpackStats> {
    let file = File::open(plan.archive).at(plan.archive)?;
    let total = file.metadata().at(plan.archive)?.len();
    let bar = progress.bytes(
        &format!("unpack {}", super::verify::file_name(plan.archive)),
        Some(total),
    );
    let counted = bar.wrap_read(BufReader::new(file));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(counted));
    let mut stats = UnpackStats::default();
    for entry in tar.entries().map_err(|e| archive_error(plan, e))? {
        let entry = entry.map_err(|e| archive_error(plan, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let kind = match (entry.header().entry_type(), link) {
            (tar::EntryType::Directory, _) => Kind::Dir,
            (tar::EntryType::Regular | tar::EntryType::Continuous, _) => {
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                let size = Some(entry.size());
                Kind::File {
                    data: entry,
                    executable,
                    size,
                }
            }
            (tar::EntryType::Symlink, Some(target)) => Kind::Symlink(target),
            (tar::EntryType::Link, Some(target)) => Kind::Hardlink(target),
            _ => Kind::Other,
        };
        write_entry(plan, &name, kind, &mut stats)?;
    }
    bar.finish_and_clear();
    Ok(stats)
}

fn unpack_zip(plan: &UnpackPlan<'_>, progress: &Progress) -> Result<UnpackStats> {
    let file = File::open(plan.archive).at(plan.archive)?;
    let total = file.metadata().at(plan.archive)?.len();
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| archive_error(plan, e))?;
    let bar = progress.bytes(
        &format!("unpack {}", super::verify::file_name(plan.archive)),
        Some(total),
    );
    let mut stats = UnpackStats::default();
    for index in 0..zip.len() {
        let (name, encrypted) = {
            let raw = zip
                .by_index_raw(index)
                .map_err(|e| archive_error(plan, e))?;
            (raw.name().to_string(), raw.encrypted())
        };
        if encrypted {
            return Err(archive_error(
                plan,
                format!("entry `{name}` is password-protected; unpack this archive by hand"),
            ));
        }
        let mut entry = zip
            .by_index(index)
            .map_err(|e| archive_error(plan, format!("entry `{name}`: {e}")))?;
        bar.inc(entry.compressed_size());
        let kind = if entry.is_dir() {
            Kind::Dir
        } else if entry.is_symlink() {
            let mut target = String::new();
            entry
                .read_to_string(&mut target)
                .map_err(|e| archive_error(plan, format!("entry `{name}`: {e}")))?;
            Kind::Symlink(target)
        } else {
            let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
            Kind::File {
                data: &mut entry,
                executable,
                size: None,
            }
        };
        write_entry(plan, &name, kind, &mut stats)?;
    }
    bar.finish_and_clear();
    Ok(stats)
}

/// Checks one entry and writes it under `plan.target`.
fn write_entry<R: Read>(
    plan: &UnpackPlan<'_>,
    name: &str,
    kind: Kind<R>,
    stats: &mut UnpackStats,
) -> Result<()> {
    let unsafe_entry = |reason: String| FetchError::UnsafeEntry {
        archive: plan.archive.to_path_buf(),
        entry: name.to_string(),
        reason,
    };
    let parts = relative_components(name).map_err(unsafe_entry)?;
    if parts.len() <= plan.strip_components || matches!(kind, Kind::Other) {
        stats.skipped += 1;
        return Ok(());
    }
    let into = relative_components(plan.into).map_err(unsafe_entry)?;
    let rel: Vec<String> = into
        .into_iter()
        .chain(parts[plan.strip_components..].iter().cloned())
        .collect();
    let dest = prepare_parents(plan.target, &rel).map_err(unsafe_entry)?;
    match std::fs::symlink_metadata(&dest) {
        Ok(meta) if meta.is_dir() && !matches!(kind, Kind::Dir) => {
            return Err(unsafe_entry(
                "a folder of that name was already unpacked".into(),
            ));
        }
        Ok(meta) if !meta.is_dir() => std::fs::remove_file(&dest).at(&dest)?,
        _ => {}
    }
    match kind {
        Kind::Dir => std::fs::create_dir_all(&dest).at(&dest)?,
        Kind::File {
            mut data,
            executable,
            size,
        } => {
            let mut out = File::create(&dest).at(&dest)?;
            let copied = std::io::copy(&mut data, &mut out).map_err(|e| FetchError::Archive {
                archive: plan.archive.to_path_buf(),
                message: format!("entry `{name}`: {e}"),
            })?;
            if let Some(size) = size.filter(|&s| s != copied) {
                return Err(FetchError::Archive {
                    archive: plan.archive.to_path_buf(),
                    message: format!(
                        "entry `{name}`: its header says {size} bytes but the archive ends \
                         after {copied}; the archive is truncated or corrupt"
                    ),
                });
            }
            set_mode(&dest, executable)?;
        }
        Kind::Symlink(target) => {
            check_link_target(&target, rel.len() - 1).map_err(unsafe_entry)?;
            make_symlink(&target, &dest).map_err(unsafe_entry)?;
        }
        Kind::Hardlink(target) => {
            let target_parts = relative_components(&target).map_err(unsafe_entry)?;
            if target_parts.len() <= plan.strip_components {
                return Err(unsafe_entry(format!(
                    "hard link to `{target}` outside the unpacked tree"
                )));
            }
            let into = relative_components(plan.into).map_err(unsafe_entry)?;
            let target_rel: Vec<String> = into
                .into_iter()
                .chain(target_parts[plan.strip_components..].iter().cloned())
                .collect();
            let source = prepare_parents(plan.target, &target_rel).map_err(unsafe_entry)?;
            match std::fs::symlink_metadata(&source) {
                Ok(meta) if meta.is_file() => std::fs::hard_link(&source, &dest).at(&dest)?,
                _ => {
                    return Err(unsafe_entry(format!(
                        "hard link to `{target}`, which is not a file unpacked before it"
                    )));
                }
            }
        }
        Kind::Other => {}
    }
    stats.written += 1;
    Ok(())
}

/// Creates the folders leading to `target/rel…` and returns the entry's path, refusing to go
/// through anything that is not a real folder (a link, a file).
fn prepare_parents(target: &Path, rel: &[String]) -> std::result::Result<PathBuf, String> {
    let mut path = target.to_path_buf();
    if let Some((last, folders)) = rel.split_last() {
        for folder in folders {
            path.push(folder);
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(format!(
                        "`{folder}` on its path is a link; refusing to write through it"
                    ));
                }
                Ok(meta) if !meta.is_dir() => {
                    return Err(format!("`{folder}` on its path is a file"));
                }
                Ok(_) => {}
                Err(_) => {
                    std::fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?
                }
            }
        }
        path.push(last);
    }
    Ok(path)
}

#[cfg(unix)]
fn make_symlink(target: &str, dest: &Path) -> std::result::Result<(), String> {
    std::os::unix::fs::symlink(target, dest).map_err(|e| format!("{}: {e}", dest.display()))
}

#[cfg(not(unix))]
fn make_symlink(_target: &str, _dest: &Path) -> std::result::Result<(), String> {
    Err("symbolic links are only unpacked on Unix".into())
}

#[cfg(unix)]
fn set_mode(path: &Path, executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).at(path)
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _executable: bool) -> Result<()> {
    Ok(())
}
