//! # xbn-data
//!
//! Metric-learning datasets in their official layouts (SOP, In-Shop, DeepFashion2, CUB-200-2011,
//! Cars196, folder-per-class, Fashion-MNIST), text datasets (a folder per class of `.txt` files,
//! JSON Lines) and a built-in synthetic "product" dataset; the image pipeline, the text pipeline
//! (Hugging Face tokenizers, [`text`]), class-balanced `P × K` sampling and a parallel loader.

pub mod check;
pub mod error;
pub mod index;
pub mod loader;
pub mod pipeline;
pub mod readers;
pub mod sampler;
pub mod seed;
pub mod synthetic;
pub mod text;

pub use check::{DataCheckReport, check_dataset};
pub use error::{DataError, Result};
pub use index::{BoundingBox, DatasetIndex, ImageProvider, Item, ItemSource, Role, Split};
pub use readers::{DatasetKind, LoadOptions, TextUnit, load_dataset};
pub use sampler::{PkConfig, PkSampler, SequentialSampler, SmallClassPolicy};
