//! `fetch-data --list`: every dataset of the manifest folder, whether it is installed under the
//! data root, and its download size.

use std::path::Path;

use super::layout::missing_proof;
use super::manifest::Manifest;
use super::marker::{dataset_folder, is_verified};

/// Install state of one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A verified install (marker, checksums, proof files).
    Installed,
    /// The folder exists but is not a verified install.
    Unverified,
    /// Nothing there.
    Absent,
}

/// The state of `manifest` under `root`.
pub fn state(manifest: &Manifest, root: &Path) -> State {
    let folder = dataset_folder(root, manifest);
    if is_verified(manifest, &folder) {
        State::Installed
    } else if folder.exists() {
        State::Unverified
    } else {
        State::Absent
    }
}

/// `1536` → `1.5 KiB`; sizes in binary units with one decimal.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The `--list` table, one line per manifest.
pub fn render(manifests: &[Manifest], root: &Path) -> String {
    let mut out = format!(
        "{:<14} {:<12} {:>10}  {:<8} {}\n",
        "NAME", "STATE", "DOWNLOAD", "ACCESS", "FOLDER / TITLE"
    );
    for m in manifests {
        let state = match state(m, root) {
            State::Installed => "installed",
            State::Unverified if missing_proof(m, &dataset_folder(root, m)).is_empty() => {
                "unverified"
            }
            State::Unverified => "incomplete",
            State::Absent => "-",
        };
        let size = m
            .total_bytes()
            .map(human_bytes)
            .unwrap_or_else(|| "?".into());
        let local = !m.local_dirs.is_empty()
            && m.archives.iter().all(|a| {
                m.local_dirs
                    .iter()
                    .any(|d| Path::new(d).join(&a.file).is_file())
            });
        let access = if local {
            "local"
        } else if m.manual.is_some() {
            "manual"
        } else {
            "http"
        };
        out.push_str(&format!(
            "{:<14} {:<12} {:>10}  {:<8} {} ({})\n",
            m.name,
            state,
            size,
            access,
            dataset_folder(root, m).display(),
            m.title
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3_083_860_082), "2.9 GiB");
    }
}
