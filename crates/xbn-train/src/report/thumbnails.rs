//! Small pictures of dataset items for the report: an image scaled to fit a square box and
//! embedded as a JPEG data URI (so the page needs no other file), or the text of a text sample.

use std::io::Cursor;

use base64::Engine;
use image::imageops::FilterType;
use image::{ImageFormat, RgbImage};
use xbn_data::{Item, ItemSource};

/// What the page shows for one item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Thumbnail {
    /// A `data:image/jpeg;base64,…` URI.
    Image {
        /// The data URI.
        uri: String,
    },
    /// The beginning of a text sample.
    Text {
        /// At most [`TEXT_CHARS`] characters.
        text: String,
    },
    /// The item could not be read; the page says why.
    Missing {
        /// The error.
        reason: String,
    },
}

/// Characters of a text sample shown.
pub const TEXT_CHARS: usize = 160;

/// The thumbnail of `item`, scaled to fit `size × size` pixels.
pub fn thumbnail(item: &Item, size: u32) -> Thumbnail {
    if let ItemSource::Text { text, .. } = &item.source {
        let mut shown: String = text.chars().take(TEXT_CHARS).collect();
        if text.chars().count() > TEXT_CHARS {
            shown.push('…');
        }
        return Thumbnail::Text { text: shown };
    }
    match xbn_data::pipeline::load_image(&item.source) {
        Ok(img) => match jpeg_data_uri(&fit(&img, size)) {
            Ok(uri) => Thumbnail::Image { uri },
            Err(reason) => Thumbnail::Missing { reason },
        },
        Err(e) => Thumbnail::Missing {
            reason: e.to_string(),
        },
    }
}

/// `img` scaled (up or down, aspect kept) so that its longer side is `size` pixels.
pub fn fit(img: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let longer = w.max(h).max(1);
    let scale = size as f64 / longer as f64;
    let nw = ((w as f64 * scale).round() as u32).max(1);
    let nh = ((h as f64 * scale).round() as u32).max(1);
    image::imageops::resize(img, nw, nh, FilterType::Triangle)
}

/// `img` as a base64 JPEG data URI.
pub fn jpeg_data_uri(img: &RgbImage) -> std::result::Result<String, String> {
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    ))
}

/// A PNG file's bytes as a base64 data URI.
pub fn png_data_uri(bytes: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}
