//! The run's last checkpoint and its predecessor. A new checkpoint is written to a temporary
//! file, read back and verified against its checksum, and only then renamed over
//! `checkpoint.safetensors`; the one it replaces is kept as `checkpoint.prev.safetensors`. At
//! every moment of a save (a kill included) the folder holds a complete checkpoint under
//! [`LAST`]; when that file is damaged, loading falls back to [`PREV`] with a warning.

use std::fs;
use std::path::{Path, PathBuf};

use candle_core::Device;

use super::{Checkpoint, LAST, atomic, verify};
use crate::error::{Result, TrainError};

/// File name of the checkpoint before the last one inside a run folder.
pub const PREV: &str = "checkpoint.prev.safetensors";

/// Writes `ck` as `dir/`[`LAST`] once it is verified on disk. With `keep_previous`, the
/// checkpoint it replaces becomes `dir/`[`PREV`] (pass `false` when the current [`LAST`] is
/// known to be damaged, so that the good [`PREV`] is kept). Returns the path written.
pub fn save_keeping_previous(ck: &Checkpoint, dir: &Path, keep_previous: bool) -> Result<PathBuf> {
    let path = dir.join(LAST);
    let bytes = ck.to_bytes(&path)?;
    let tmp = atomic::temp_path(&path);
    let result = write_verified(&tmp, &bytes).and_then(|()| {
        if keep_previous && path.exists() {
            link_previous(&path, &dir.join(PREV))?;
        }
        fs::rename(&tmp, &path).map_err(|e| TrainError::io(&path, e))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result.map(|()| path);
    }
    atomic::sync_parent(&path);
    Ok(path)
}

/// Writes `bytes` to `tmp`, flushes it, reads it back and checks its checksum.
fn write_verified(tmp: &Path, bytes: &[u8]) -> Result<()> {
    atomic::write_and_sync(tmp, bytes)?;
    let back = fs::read(tmp).map_err(|e| TrainError::io(tmp, e))?;
    verify(&back, tmp).map(|_| ())
}

/// Makes `prev` a copy of `last` (a hard link where the file system allows it), replacing
/// any former `prev` atomically; `last` itself is not touched.
fn link_previous(last: &Path, prev: &Path) -> Result<()> {
    let staged = atomic::temp_path(prev);
    let _ = fs::remove_file(&staged);
    if fs::hard_link(last, &staged).is_err() {
        fs::copy(last, &staged).map_err(|e| TrainError::io(&staged, e))?;
    }
    fs::rename(&staged, prev).map_err(|e| TrainError::io(prev, e))
}

/// A checkpoint read from a run folder.
#[derive(Debug)]
pub struct Loaded {
    /// Its contents.
    pub checkpoint: Checkpoint,
    /// The file it came from ([`LAST`], or [`PREV`] after a fallback).
    pub path: PathBuf,
    /// Why [`LAST`] was not used, when the checkpoint came from [`PREV`].
    pub fallback: Option<String>,
}

/// Whether `dir` holds a checkpoint to resume from ([`LAST`] or [`PREV`]).
pub fn exists(dir: &Path) -> bool {
    dir.join(LAST).exists() || dir.join(PREV).exists()
}

/// Reads `dir/`[`LAST`]; when it is missing, unreadable or damaged, reads `dir/`[`PREV`]
/// instead and says why in [`Loaded::fallback`]. Fails, naming both files, when neither loads.
pub fn load_last_or_previous(dir: &Path, device: &Device) -> Result<Loaded> {
    let last = dir.join(LAST);
    let last_error = match load_plain(&last, device) {
        Ok(checkpoint) => {
            return Ok(Loaded {
                checkpoint,
                path: last,
                fallback: None,
            });
        }
        Err(e) => e,
    };
    let prev = dir.join(PREV);
    if !prev.exists() {
        return Err(last_error);
    }
    match load_plain(&prev, device) {
        Ok(checkpoint) => Ok(Loaded {
            checkpoint,
            fallback: Some(format!(
                "{last_error}; using the previous checkpoint {} instead",
                prev.display()
            )),
            path: prev,
        }),
        Err(prev_error) => Err(TrainError::Checkpoint {
            path: last,
            message: format!("unusable ({last_error}), and so is the previous one ({prev_error})"),
        }),
    }
}

/// [`Checkpoint::load`] without its offer of the previous checkpoint (this module decides).
fn load_plain(path: &Path, device: &Device) -> Result<Checkpoint> {
    let bytes = fs::read(path).map_err(|e| TrainError::io(path, e))?;
    Checkpoint::from_bytes(&bytes, path, device)
}
