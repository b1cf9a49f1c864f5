//! One writer per run folder: `<run folder>/.lock`, held with an operating-system advisory lock
//! (`flock`) for as long as the run is open, with the holder's PID written inside for the
//! message a second writer gets. The kernel releases the lock when its process dies, however it
//! dies, so a lock left by a killed run is stale by construction: the next run takes it over
//! (and says so). The file itself stays (emptied when released), so two runs can never hold
//! locks on two different files of the same name.
//!
//! Where `flock` is unavailable (a file system without advisory locks, or a platform other
//! than Unix), the run goes on with a warning and without the guarantee.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

/// File name of the lock inside a run folder.
pub const LOCK: &str = ".lock";

/// The lock of a run folder, released (and its file emptied) when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    #[cfg(unix)]
    file: Option<nix::fcntl::Flock<File>>,
    #[cfg(not(unix))]
    file: Option<File>,
    stale_pid: Option<u32>,
}

impl RunLock {
    /// Takes the lock of the run folder `dir` (which must exist). Fails at once, naming the
    /// holder's PID, when another process holds it; takes over a lock whose process is gone.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        let recorded = read_pid(&mut file);
        let mut lock = match try_lock(file, &path)? {
            Locked::Held(file) => Self {
                path,
                file: Some(file),
                stale_pid: recorded,
            },
            Locked::Busy => {
                return Err(TrainError::RunLocked {
                    dir: dir.to_path_buf(),
                    pid: recorded,
                });
            }
            Locked::Unsupported(file, why) => {
                tracing::warn!(
                    "{}: cannot lock ({why}); make sure no other xbn-train writes to this folder",
                    path.display()
                );
                let _ = file;
                Self {
                    path,
                    file: None,
                    stale_pid: None,
                }
            }
        };
        if let Some(pid) = lock.stale_pid {
            tracing::warn!(
                "{}: taking over the lock left by process {pid}, which no longer holds it",
                lock.path.display()
            );
        }
        lock.write_pid()?;
        Ok(lock)
    }

    /// The PID found in a lock that was taken over (its process was gone), if any.
    pub fn stale_pid(&self) -> Option<u32> {
        self.stale_pid
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_pid(&mut self) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let file: &mut File = file;
        let path = &self.path;
        file.set_len(0).map_err(|e| TrainError::io(path, e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| TrainError::io(path, e))?;
        writeln!(file, "{}", std::process::id()).map_err(|e| TrainError::io(path, e))?;
        file.flush().map_err(|e| TrainError::io(path, e))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Empty the file while still holding the lock; the lock itself goes with the file.
        if let Some(file) = self.file.as_mut() {
            let file: &mut File = file;
            let _ = file.set_len(0);
        }
    }
}

/// The PID written in a lock file, `None` when empty or unreadable.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

enum Locked<F> {
    Held(F),
    Busy,
    Unsupported(File, String),
}

#[cfg(unix)]
fn try_lock(file: File, path: &Path) -> Result<Locked<nix::fcntl::Flock<File>>> {
    use nix::errno::Errno;
    use nix::fcntl::{Flock, FlockArg};
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(held) => Ok(Locked::Held(held)),
        Err((_, Errno::EWOULDBLOCK)) => Ok(Locked::Busy),
        Err((file, e @ (Errno::ENOLCK | Errno::EOPNOTSUPP | Errno::ENOSYS))) => {
            Ok(Locked::Unsupported(file, e.desc().to_string()))
        }
        Err((_, e)) => Err(TrainError::io(path, std::io::Error::from(e))),
    }
}

#[cfg(not(unix))]
fn try_lock(file: File, _path: &Path) -> Result<Locked<File>> {
    Ok(Locked::Unsupported(
        file,
        "advisory locks are only used on Unix".into(),
    ))
}
