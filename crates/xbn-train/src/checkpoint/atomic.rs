//! Atomic file replacement: write a temporary file in the same folder, flush it to disk, then
//! rename it over the target. A failure at any step (full disk included) leaves the previous
//! file untouched.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

/// The temporary file used while `path` is being replaced.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Replaces `path` by `bytes` atomically (temp file + fsync + rename + fsync of the folder).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("a.bin");
/// xbn_train::checkpoint::atomic::write_atomic(&p, b"hello").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hello");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = write_and_sync(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e)));
    if result.is_err() {
        // Best effort: the temp file is garbage; the target was never touched.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_parent(path);
    Ok(())
}

/// Flushes the folder holding `path` so that a rename into it survives a power loss; not all
/// platforms allow opening a folder, so a failure is ignored.
pub fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Creates (or truncates) `tmp`, writes `bytes` and flushes them to disk.
pub fn write_and_sync(tmp: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(tmp).map_err(|e| TrainError::io(tmp, e))?;
    f.write_all(bytes).map_err(|e| TrainError::io(tmp, e))?;
    f.sync_all().map_err(|e| TrainError::io(tmp, e))
}
