//! Readers of the official dataset layouts, one file per dataset, and [`load_dataset`], which
//! dispatches on a [`DatasetKind`]. Image datasets give items with image sources; the text
//! layouts (`text-folder`, `jsonl`) give [`ItemSource::Text`](crate::ItemSource::Text) items.
//!
//! Every reader returns a [`DatasetIndex`] whose labels are dense (`0..n_classes`, training
//! classes first) and whose train and test splits are class-disjoint, as the metric-learning
//! papers use them.

pub mod cars;
mod class_folders;
mod class_split;
mod common;
pub mod counts;
pub mod cub;
pub mod deepfashion2;
pub mod fashion_mnist;
pub mod folder;
pub mod idx;
pub mod inshop;
pub mod jsonl;
mod kind;
mod locate;
pub mod matv5;
mod min_classes;
pub mod sop;
pub mod text_folder;
mod text_unit;

use std::path::Path;

pub use common::{MissingImage, ReaderOutput};
pub use counts::{OfficialCounts, count_mismatches, index_counts, official_counts};
pub use kind::DatasetKind;
pub use locate::join_paths;
pub use min_classes::MIN_CLASSES_PER_SPLIT;
pub use text_unit::TextUnit;

use crate::index::DatasetIndex;
use crate::synthetic::{Synthetic, SyntheticConfig};
use crate::{DataError, Result};

/// How [`load_dataset`] reads a dataset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LoadOptions {
    /// Check that every listed image file exists (one `stat` per file); a missing one is a
    /// [`DataError::MissingImage`] naming the file and the annotation line listing it.
    pub verify_files: bool,
    /// Make counts that differ from the official ones ([`count_mismatches`]) an error instead of
    /// a logged warning. Off by default, so partial copies and small fixtures load.
    pub strict_counts: bool,
    /// For the `folder` and `text-folder` layouts without `train/` and `test/` subfolders, and
    /// for `jsonl` files without `split` fields: the fraction of the (sorted) classes that
    /// train; `round(fraction · n_classes)` classes.
    pub folder_train_fraction: f64,
    /// For `text-folder`: one sample per file (`file`) or per non-blank line (`line`).
    pub text_unit: TextUnit,
    /// For `synthetic`: the generator's configuration (the root folder is not used). Not part
    /// of the serialized options: configure it through the trainer's synthetic section.
    #[serde(skip)]
    pub synthetic: SyntheticConfig,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            verify_files: true,
            strict_counts: false,
            folder_train_fraction: 0.5,
            text_unit: TextUnit::default(),
            synthetic: SyntheticConfig::default(),
        }
    }
}

/// Runs the reader of `kind` on `root` without judging its output: the index, and the listed
/// image files that are missing (when `options.verify_files`).
pub fn read_dataset(kind: DatasetKind, root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    match kind {
        DatasetKind::Sop => sop::read(root, options),
        DatasetKind::InShop => inshop::read(root, options),
        DatasetKind::DeepFashion2 => deepfashion2::read(root, options),
        DatasetKind::Cub => cub::read(root, options),
        DatasetKind::Cars => cars::read(root, options),
        DatasetKind::Folder => folder::read(root, options),
        DatasetKind::FashionMnist => fashion_mnist::read(root, options),
        DatasetKind::TextFolder => text_folder::read(root, options),
        DatasetKind::Jsonl => jsonl::read(root, options),
        DatasetKind::Synthetic => Ok(ReaderOutput {
            index: Synthetic::dataset(options.synthetic.clone())?,
            missing: Vec::new(),
        }),
    }
}

/// Reads dataset `kind` from `root` in its official layout.
///
/// Fails with [`DataError::MissingImage`] if a listed image file does not exist (with
/// `options.verify_files`), with a parse error naming file and line on a malformed annotation,
/// and, with `options.strict_counts`, with [`DataError::Layout`] when the counts differ from the
/// official ones (otherwise these differences are logged as warnings).
///
/// ```
/// # fn main() -> xbn_data::Result<()> {
/// use xbn_data::{DatasetKind, LoadOptions, Split, load_dataset};
/// let root = tempfile::tempdir().unwrap();
/// for (class, file) in [("cat", "a.png"), ("cat", "b.png"), ("dog", "c.png"), ("dog", "d.png")] {
///     std::fs::create_dir_all(root.path().join(class)).unwrap();
///     image::RgbImage::new(4, 4).save(root.path().join(class).join(file)).unwrap();
/// }
/// let index = load_dataset(DatasetKind::Folder, root.path(), &LoadOptions::default())?;
/// assert_eq!(index.items.len(), 4);
/// assert_eq!(index.split_indices(Split::Train), vec![0, 1]); // "cat": the first half of classes
/// # Ok(()) }
/// ```
pub fn load_dataset(kind: DatasetKind, root: &Path, options: &LoadOptions) -> Result<DatasetIndex> {
    let output = read_dataset(kind, root, options)?;
    if let Some(first) = output.missing.first() {
        return Err(DataError::MissingImage {
            image: first.image.clone(),
            listed_in: first.listed_in.clone(),
            total: output.missing.len(),
        });
    }
    let mismatches = count_mismatches(kind, &output.index);
    if options.strict_counts && !mismatches.is_empty() {
        return Err(DataError::Layout(format!(
            "{}: {}",
            root.display(),
            mismatches.join("; ")
        )));
    }
    for message in &mismatches {
        tracing::warn!("{}: {message}", root.display());
    }
    Ok(output.index)
}
