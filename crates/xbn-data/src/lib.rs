//! # xbn-data
//!
//! Metric-learning datasets in their official layouts (SOP, In-Shop, DeepFashion2, CUB-200-2011,
//! Cars196, folder-per-class, Fashion-MNIST) and a built-in synthetic "product" dataset; the image
//! pipeline, class-balanced `P × K` sampling and a parallel loader.

pub mod error;
pub mod index;

pub use error::{DataError, Result};
pub use index::{BoundingBox, DatasetIndex, ImageProvider, ImageSource, Item, Role, Split};
