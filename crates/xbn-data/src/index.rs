//! The dataset index every reader returns: one [`Item`] per image (or per cropped object, or per
//! text sample).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::Result;

/// Which half of a class-disjoint split an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training classes.
    Train,
    /// Test classes (disjoint from the training classes).
    Test,
}

/// The item's role in its evaluation protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A training image.
    Train,
    /// Leave-one-out evaluation (SOP, CUB, Cars): both query and reference.
    QueryAndReference,
    /// Query of a query-vs-gallery protocol (In-Shop query, DeepFashion2 user image).
    Query,
    /// Gallery of a query-vs-gallery protocol (In-Shop gallery, DeepFashion2 shop image).
    Gallery,
}

/// A pixel rectangle `[x1, x2) × [y1, y2)` in image coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BoundingBox {
    /// Left edge (inclusive).
    pub x1: u32,
    /// Top edge (inclusive).
    pub y1: u32,
    /// Right edge (exclusive).
    pub x2: u32,
    /// Bottom edge (exclusive).
    pub y2: u32,
}

/// Renders or decodes images that do not live in their own files (synthetic data, IDX files).
pub trait ImageProvider: Send + Sync + fmt::Debug {
    /// The RGB image number `index`.
    fn image(&self, index: usize) -> Result<image::RgbImage>;
    /// A human-readable name for image `index`, used in error messages.
    fn describe(&self, index: usize) -> String;
}

/// Where an item's content comes from: the pixels of an image, or a text sample.
#[derive(Debug, Clone)]
pub enum ItemSource {
    /// An image file, optionally cropped to a bounding box (DeepFashion2 items).
    File {
        /// The image file.
        path: PathBuf,
        /// The region to keep, if any.
        crop: Option<BoundingBox>,
    },
    /// Image `index` of an in-memory provider.
    Provided {
        /// The provider holding the image.
        provider: Arc<dyn ImageProvider>,
        /// Index of the image in the provider.
        index: usize,
    },
    /// A text sample (`text-folder` and `jsonl` datasets), held in memory.
    Text {
        /// The sample's text.
        text: Arc<str>,
        /// Where it was read, for error messages: `path:line`, or `path` for a sample that is a
        /// whole file.
        origin: String,
    },
}

impl ItemSource {
    /// A human-readable name for error messages.
    pub fn describe(&self) -> String {
        match self {
            ItemSource::File { path, crop: None } => path.display().to_string(),
            ItemSource::File {
                path,
                crop: Some(b),
            } => {
                format!("{} [{},{}..{},{}]", path.display(), b.x1, b.y1, b.x2, b.y2)
            }
            ItemSource::Provided { provider, index } => provider.describe(*index),
            ItemSource::Text { origin, .. } => origin.clone(),
        }
    }
}

/// One image (or cropped object, or text sample) of a dataset.
#[derive(Debug, Clone)]
pub struct Item {
    /// Where the pixels (or the text) come from.
    pub source: ItemSource,
    /// Class label, dense per dataset (0..n_classes over all splits).
    pub label: u32,
    /// Train or test half of the class-disjoint split.
    pub split: Split,
    /// Role in the evaluation protocol.
    pub role: Role,
}

/// A dataset: its name and every item, in a deterministic order.
#[derive(Debug, Clone, Default)]
pub struct DatasetIndex {
    /// Dataset name (e.g. `sop`).
    pub name: String,
    /// All items.
    pub items: Vec<Item>,
}

impl DatasetIndex {
    /// Item `i`, asked for by batch `batch` of a loader: out of range is a
    /// [`DataError::Config`](crate::DataError::Config) naming the batch, the index and the
    /// dataset.
    pub fn batch_item(&self, batch: usize, i: usize) -> Result<&Item> {
        self.items.get(i).ok_or_else(|| {
            crate::DataError::Config(format!(
                "batch {batch}: index {i} out of range ({} items in {})",
                self.items.len(),
                self.name
            ))
        })
    }

    /// Indices (into `items`) of the items of one split.
    pub fn split_indices(&self, split: Split) -> Vec<usize> {
        (0..self.items.len())
            .filter(|&i| self.items[i].split == split)
            .collect()
    }
    /// Indices (into `items`) of the items with one role.
    pub fn role_indices(&self, role: Role) -> Vec<usize> {
        (0..self.items.len())
            .filter(|&i| self.items[i].role == role)
            .collect()
    }
}
