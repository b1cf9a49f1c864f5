//! `cargo xtask fetch-data`: resumable, verified dataset downloads and safe unpacking.
//!
//! Manifests (`datasets/<name>.toml`, see [`manifest::Manifest`]) say where each archive comes
//! from and what its published checksums are. [`install::install`] obtains the archives
//! (`--archive` files, a local copy, or an HTTP(S) download resumed with `Range` requests),
//! verifies every checksum before anything is unpacked, unpacks into a temporary folder with
//! per-entry safety checks, runs the xbn-data layout check, writes a marker and renames the
//! folder into place. A manifest with `convert` (WordNet) has its unpacked files, or a local
//! folder of them (`--from`), converted into the dataset's files first ([`convert`]).
//!
//! ```
//! use xtask::fetch::{InstallOptions, Manifest, Outcome, Progress, install};
//!
//! let dir = tempfile::tempdir()?;
//! let labels = dir.path().join("labels.txt");
//! std::fs::write(&labels, "1 cat\n")?;
//! let manifest = Manifest::parse(
//!     r#"
//!     name = "tiny"
//!     title = "Tiny"
//!     homepage = "https://example.org"
//!     terms = "public domain"
//!     folder = "Tiny"
//!     proof = ["labels.txt"]
//!     [[archives]]
//!     file = "labels.txt"
//!     format = "file"
//!     "#,
//!     "tiny.toml".as_ref(),
//! )?;
//! let options = InstallOptions {
//!     root: dir.path().join("data"),
//!     archives: vec![labels], // as with `--archive labels.txt`
//!     ..Default::default()
//! };
//! let outcome = install(&manifest, &options, &Progress::hidden())?;
//! assert!(matches!(outcome, Outcome::Installed { .. }));
//! assert!(dir.path().join("data/Tiny/labels.txt").is_file());
//! // A second run leaves the verified install alone.
//! let again = install(&manifest, &options, &Progress::hidden())?;
//! assert!(matches!(again, Outcome::AlreadyInstalled(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod convert;
pub mod download;
pub mod error;
pub mod extract;
pub mod from_folder;
pub mod install;
pub mod layout;
pub mod list;
pub mod manifest;
pub mod marker;
pub mod progress;
pub mod safe_path;
pub mod sources;
pub mod verify;
pub mod wordnet;

pub use error::{FetchError, Result};
pub use install::{InstallOptions, Outcome, install};
pub use manifest::Manifest;
pub use progress::Progress;
