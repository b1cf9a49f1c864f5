//! Fashion-MNIST (Xiao et al., 2017) in IDX format, as distributed (and as Debian's
//! `dataset-fashion-mnist` installs it under `/usr/share/datasets/fashion-mnist/`):
//! `train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`,
//! `t10k-labels-idx1-ubyte.gz` (gzip-compressed, or the same names without `.gz`).
//!
//! For metric learning the 70,000 images of both files are pooled and split by class: classes
//! 0–4 (T-shirt/top, Trouser, Pullover, Dress, Coat; 35,000 images) train, classes 5–9 (Sandal,
//! Shirt, Sneaker, Bag, Ankle boot; 35,000 images) test, leave-one-out protocol. Labels are
//! dense, so with all ten classes present they are the dataset's own class numbers. Images are
//! served from memory as 28×28 RGB (grey replicated).
//!
//! The files may be in the root, in `FashionMNIST/raw/` (torchvision's download), in
//! `data/fashion/` (the project's repository) or in `raw/` ([`PLACES`]); the first folder
//! holding `train-images-idx3-ubyte(.gz)` is read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::read::GzDecoder;

use super::LoadOptions;
use super::common::{IndexBuilder, ReaderOutput};
use super::idx::{IdxArray, read_idx};
use super::locate::{Entry, first_existing, under_tops};
use crate::index::{ImageProvider, ItemSource, Role, Split};
use crate::{DataError, Result};

/// Classes `0..TRAIN_CLASSES` train, the rest test.
pub const TRAIN_CLASSES: u8 = 5;
/// The default location of Debian's `dataset-fashion-mnist` package.
pub const DEBIAN_ROOT: &str = "/usr/share/datasets/fashion-mnist";

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// The folders, relative to the root, that may hold the four files, in the order tried.
pub const PLACES: [&str; 4] = ["", "FashionMNIST/raw", "data/fashion", "raw"];

/// The folder holding the training images, or [`DataError::NotFound`] naming every place tried.
fn locate(root: &Path) -> Result<PathBuf> {
    let name = "train-images-idx3-ubyte";
    let gz = format!("{name}.gz");
    let found = first_existing(
        root,
        "the Fashion-MNIST training images `train-images-idx3-ubyte(.gz)`",
        under_tops(root, &PLACES, &[&gz, name]),
        Entry::File,
    )?;
    Ok(found.parent().unwrap_or(root).to_path_buf())
}

/// Reads the IDX array `root/name.gz`, or `root/name` if only the uncompressed file is there.
fn read_idx_file(
    root: &Path,
    name: &str,
    magic: u32,
    n_dims: usize,
) -> Result<(PathBuf, IdxArray)> {
    let gz = root.join(format!("{name}.gz"));
    let plain = root.join(name);
    let path = if !gz.is_file() && plain.is_file() {
        plain
    } else {
        gz
    };
    let file = std::fs::File::open(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    let reader = std::io::BufReader::new(file);
    let array = if path.extension().is_some_and(|e| e == "gz") {
        read_idx(GzDecoder::new(reader), &path, magic, n_dims)?
    } else {
        read_idx(reader, &path, magic, n_dims)?
    };
    Ok((path, array))
}

/// Greyscale images held in memory, served as RGB.
#[derive(Debug)]
pub struct IdxImages {
    pixels: Vec<u8>,
    rows: usize,
    cols: usize,
    names: Vec<(String, usize)>,
}

impl ImageProvider for IdxImages {
    fn image(&self, index: usize) -> Result<image::RgbImage> {
        let size = self.rows * self.cols;
        let grey = self
            .pixels
            .get(index * size..(index + 1) * size)
            .ok_or_else(|| {
                DataError::Config(format!(
                    "Fashion-MNIST has {} images, asked for #{index}",
                    self.len()
                ))
            })?;
        let rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        image::RgbImage::from_raw(self.cols as u32, self.rows as u32, rgb).ok_or_else(|| {
            DataError::Config("Fashion-MNIST image buffer has the wrong size".into())
        })
    }

    fn describe(&self, index: usize) -> String {
        let mut offset = 0;
        for (name, n) in &self.names {
            if index < offset + n {
                return format!("{name} image #{}", index - offset);
            }
            offset += n;
        }
        format!("Fashion-MNIST image #{index}")
    }
}

impl IdxImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.pixels.len() / (self.rows * self.cols).max(1)
    }
    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads Fashion-MNIST from `root` (the folder holding the four IDX files).
pub fn read(root: &Path, _options: &LoadOptions) -> Result<ReaderOutput> {
    let root = locate(root)?;
    let root = root.as_path();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut names = Vec::new();
    let mut shape = None;
    for prefix in ["train", "t10k"] {
        let (img_path, img) = read_idx_file(
            root,
            &format!("{prefix}-images-idx3-ubyte"),
            IMAGES_MAGIC,
            3,
        )?;
        let (lbl_path, lbl) = read_idx_file(
            root,
            &format!("{prefix}-labels-idx1-ubyte"),
            LABELS_MAGIC,
            1,
        )?;
        let dims = img.dims;
        let n_labels = lbl.dims[0];
        if dims[0] != n_labels {
            return Err(DataError::Layout(format!(
                "{} holds {} images but {} holds {n_labels} labels",
                img_path.display(),
                dims[0],
                lbl_path.display()
            )));
        }
        if *shape.get_or_insert((dims[1], dims[2])) != (dims[1], dims[2]) {
            return Err(DataError::Layout(format!(
                "{} has {}×{} images, unlike the training file",
                img_path.display(),
                dims[1],
                dims[2]
            )));
        }
        if let Some(pos) = lbl.data.iter().position(|&l| l > 9) {
            return Err(DataError::Annotation {
                path: lbl_path,
                message: format!("label #{pos} is {}, expected 0..=9", lbl.data[pos]),
            });
        }
        let file_name = img_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        names.push((file_name.unwrap_or_default(), n_labels));
        pixels.extend_from_slice(&img.data);
        labels.extend_from_slice(&lbl.data);
    }
    let (rows, cols) = shape.unwrap_or((28, 28));
    let provider: Arc<dyn ImageProvider> = Arc::new(IdxImages {
        pixels,
        rows,
        cols,
        names,
    });
    let mut builder = IndexBuilder::new(false);
    for (i, &label) in labels.iter().enumerate() {
        let (split, role) = if label < TRAIN_CLASSES {
            (Split::Train, Role::Train)
        } else {
            (Split::Test, Role::QueryAndReference)
        };
        let source = ItemSource::Provided {
            provider: provider.clone(),
            index: i,
        };
        builder.push(source, label, split, role, || provider.describe(i))?;
    }
    Ok(builder.finish("fashion-mnist"))
}
