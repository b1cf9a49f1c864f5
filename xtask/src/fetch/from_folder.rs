//! `fetch-data <name> --from DIR`: a converted dataset built from a local folder of its source
//! files (e.g. Debian's WordNet in `/usr/share/wordnet`) instead of its archives. Nothing is
//! downloaded; the conversion writes into `<root>/.<folder>.partial`, which is layout-checked,
//! marked (`source = "folder"`) and renamed into place like an unpacked download.

use std::path::Path;

use super::convert::convert;
use super::error::{FetchError, IoContext, Result};
use super::install::{InstallOptions, Outcome, remove_dir_if_present, swap_into_place};
use super::layout::check_layout;
use super::manifest::Manifest;
use super::marker::{Marker, dataset_folder};
use super::progress::Progress;

/// Converts the source files in `from` into `manifest`'s dataset under `options.root`.
pub fn install_from_folder(
    manifest: &Manifest,
    from: &Path,
    options: &InstallOptions,
    progress: &Progress,
) -> Result<Outcome> {
    let Some(conversion) = manifest.convert else {
        return Err(FetchError::Usage(format!(
            "--from applies only to datasets converted from source files, not to `{}`",
            manifest.name
        )));
    };
    if !from.is_dir() {
        return Err(FetchError::Usage(format!(
            "--from {}: no such folder",
            from.display()
        )));
    }
    let root = &options.root;
    let folder = dataset_folder(root, manifest);
    let partial = root.join(format!(".{}.partial", manifest.folder));
    remove_dir_if_present(&partial)?;
    std::fs::create_dir(&partial).at(&partial)?;
    let built = (|| {
        convert(conversion, from, &partial, &options.convert, progress)?;
        progress.say("checking the layout");
        let summary = check_layout(manifest, &partial)?;
        let mut marker = Marker::from_folder(manifest, from);
        marker.max_per_class = options.convert.max_per_class;
        marker.write(&partial)?;
        Ok(summary)
    })();
    let summary = match built {
        Ok(summary) => summary,
        Err(e) => {
            // Discard everything the failed conversion wrote; the error is what matters.
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    swap_into_place(root, manifest, &partial, &folder)?;
    Ok(Outcome::Installed { folder, summary })
}
