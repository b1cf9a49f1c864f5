//! `cargo xtask fetch-data`: resumable, verified dataset downloads and safe unpacking.
//!
//! Manifests (`datasets/<name>.toml`, see [`manifest::Manifest`]) say where each archive comes
//! from and what its published checksums are. [`install::install`] obtains the archives
//! (`--archive` files, a local copy, or an HTTP(S) download resumed with `Range` requests),
//! verifies every checksum before anything is unpacked, unpacks into a temporary folder with
//! per-entry safety checks, runs the xbn-data layout check, writes a marker and renames the
//! folder into place.

pub mod download;
pub mod error;
pub mod extract;
pub mod install;
pub mod layout;
pub mod list;
pub mod manifest;
pub mod marker;
pub mod progress;
pub mod safe_path;
pub mod sources;
pub mod verify;

pub use error::{FetchError, Result};
pub use install::{InstallOptions, Outcome, install};
pub use manifest::Manifest;
pub use progress::Progress;
