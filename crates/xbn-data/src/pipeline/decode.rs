//! Loading an [`ItemSource`] into an RGB image: read, decode (JPEG/PNG), crop to the bounding box.
//! A text sample has no image: loading one is a [`DataError::Modality`] error.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, ImageReader, RgbImage};

use super::jpeg::jpeg_is_complete;
use crate::{BoundingBox, DataError, ItemSource, Result};

/// The RGB pixels of `source`: a file decoded and cropped to its bounding box (clipped to the
/// image; an empty intersection is an error), or the provider's image. A text item is an error
/// (`<origin> is a text sample, not an image`).
pub fn load_image(source: &ItemSource) -> Result<RgbImage> {
    match source {
        ItemSource::File { path, crop } => {
            let bytes = std::fs::read(path).map_err(|e| DataError::Io {
                path: path.clone(),
                source: e,
            })?;
            let image = decode_image(&bytes, path)?;
            match crop {
                None => Ok(image),
                Some(b) => crop_to(image, b, path),
            }
        }
        ItemSource::Provided { provider, index } => provider.image(*index),
        ItemSource::Text { origin, .. } => Err(DataError::Modality {
            origin: origin.clone(),
            found: "a text sample",
            expected: "an image",
        }),
    }
}

/// Decodes JPEG or PNG `bytes` (format guessed from the content) to RGB; `path` names the file
/// in errors. A JPEG that stops before its end-of-image marker (a truncated file) is an error,
/// though the decoder itself would fill the missing rows with grey.
pub fn decode_image(bytes: &[u8], path: &Path) -> Result<RgbImage> {
    let fail = |message: String| DataError::Decode {
        path: path.to_path_buf(),
        message,
    };
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?;
    let format = reader.format();
    match format {
        Some(ImageFormat::Jpeg) | Some(ImageFormat::Png) => {}
        Some(other) => return Err(fail(format!("unsupported image format {other:?}"))),
        None => return Err(fail("not a JPEG or PNG file".into())),
    }
    if format == Some(ImageFormat::Jpeg) && !jpeg_is_complete(bytes) {
        return Err(fail("truncated JPEG (no end-of-image marker)".into()));
    }
    let image = reader.decode().map_err(|e| fail(e.to_string()))?;
    Ok(image.into_rgb8())
}

fn crop_to(image: RgbImage, b: &BoundingBox, path: &Path) -> Result<RgbImage> {
    let (w, h) = image.dimensions();
    let (x1, y1, x2, y2) = (b.x1.min(w), b.y1.min(h), b.x2.min(w), b.y2.min(h));
    if x2 <= x1 || y2 <= y1 {
        return Err(DataError::Decode {
            path: path.to_path_buf(),
            message: format!(
                "bounding box [{},{}..{},{}] does not intersect the {w}×{h} image",
                b.x1, b.y1, b.x2, b.y2
            ),
        });
    }
    if (x1, y1, x2, y2) == (0, 0, w, h) {
        return Ok(image);
    }
    Ok(image::imageops::crop_imm(&image, x1, y1, x2 - x1, y2 - y1).to_image())
}
