//! Typed errors of `fetch-data`: every variant names the file, URL or archive entry at fault.

use std::path::PathBuf;

/// Everything that can go wrong while fetching, verifying or unpacking a dataset.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A manifest file could not be read or parsed.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// No manifest with this name exists in the manifest folder.
    #[error("unknown dataset `{name}` (known: {known})")]
    UnknownDataset {
        /// The name asked for.
        name: String,
        /// The names that exist, comma separated.
        known: String,
    },
    /// A URL uses a scheme other than http or https.
    #[error("refusing URL {url}: only http:// and https:// are allowed")]
    UnsupportedScheme {
        /// The URL refused.
        url: String,
    },
    /// The server answered with an HTTP error status.
    #[error("{url}: server answered HTTP {status}")]
    HttpStatus {
        /// The URL requested.
        url: String,
        /// The status code received.
        status: u16,
    },
    /// The connection failed or broke (refused, reset, cut off, timed out).
    #[error("{url}: {message}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What the transport layer reported.
        message: String,
    },
    /// Every source of an archive failed; each attempt is listed.
    #[error(
        "could not download {file}; tried:\n  {}{}",
        attempts.join("\n  "),
        partial.as_ref().map(|p| format!("\nthe partial download {} is kept: run again to resume", p.display())).unwrap_or_default()
    )]
    AllSourcesFailed {
        /// The archive file name.
        file: String,
        /// One line per URL tried, with its error.
        attempts: Vec<String>,
        /// The `.part` file kept for resuming, if any bytes arrived.
        partial: Option<PathBuf>,
    },
    /// A file's checksum differs from the published one.
    #[error(
        "{algorithm} mismatch for {}: expected {expected}, got {actual} (file kept for inspection)",
        path.display()
    )]
    ChecksumMismatch {
        /// The file checked (kept on disk).
        path: PathBuf,
        /// `sha256` or `md5`.
        algorithm: &'static str,
        /// The published digest.
        expected: String,
        /// The digest of the file on disk.
        actual: String,
    },
    /// An archive entry would be written outside the target folder, or is otherwise unsafe.
    #[error("refusing archive entry `{entry}` in {}: {reason}", archive.display())]
    UnsafeEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry name as stored in the archive.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// The archive is corrupt or uses an unsupported feature.
    #[error("archive {}: {message}", archive.display())]
    Archive {
        /// The archive.
        archive: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The unpacked dataset does not have the expected layout.
    #[error("dataset `{name}` at {}: layout check failed:\n  {}", folder.display(), problems.join("\n  "))]
    Layout {
        /// The dataset name.
        name: String,
        /// The folder checked.
        folder: PathBuf,
        /// The problems found.
        problems: Vec<String>,
    },
    /// The dataset must be downloaded by hand (agreement form or password).
    #[error("{0}")]
    ManualStepRequired(String),
    /// `--archive` was given but does not match any archive of the manifest.
    #[error("{path}: {message}")]
    BadArchiveArgument {
        /// The path given.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A source file of a conversion (e.g. WordNet's `data.noun`) is not in the expected format.
    #[error(
        "{}{}: {message}",
        path.display(),
        line.map(|l| format!(":{l}")).unwrap_or_default()
    )]
    SourceFormat {
        /// The file (or folder) at fault.
        path: PathBuf,
        /// The line at fault (1-based), if one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Options that do not fit the dataset (`--from` or `--max-per-class` for a dataset that is
    /// not converted, a zero `--max-per-class`).
    #[error("{0}")]
    Usage(String),
    /// A filesystem operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path operated on.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result type of the `fetch-data` library.
pub type Result<T> = std::result::Result<T, FetchError>;

/// Attaches a path to an [`std::io::Error`].
pub(crate) trait IoContext<T> {
    /// Maps the error into [`FetchError::Io`] naming `path`.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| FetchError::Io {
            path: path.into(),
            source,
        })
    }
}
