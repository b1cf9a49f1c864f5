//! The human-readable log `runs/<name>/train.log`: every line also goes to `tracing`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::append::AppendFile;
use crate::error::Result;

/// Appends timestamped lines to a log file and forwards them to `tracing` at INFO level.
#[derive(Debug)]
pub struct RunLog(AppendFile);

impl RunLog {
    /// Opens (appending) the log file.
    pub fn open(path: &Path) -> Result<Self> {
        AppendFile::open(path).map(RunLog)
    }

    /// Writes one line (seconds since the Unix epoch, then the message).
    pub fn line(&mut self, message: &str) -> Result<()> {
        tracing::info!("{message}");
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.0.write_line(&format!("[{secs:.3}] {message}"))
    }
}
