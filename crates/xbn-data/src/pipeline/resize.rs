//! Resizing a source region with `fast_image_resize` (SIMD, PIL-equivalent convolution filters).

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use super::crop::Region;
use crate::{DataError, Result};

/// A reusable resizer and output buffer (one per worker thread, so nothing is allocated per
/// image once warm).
#[derive(Default)]
pub struct Scratch {
    resizer: Resizer,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch")
            .field("buffer_len", &self.buffer.len())
            .finish()
    }
}

impl Scratch {
    /// A new scratch space.
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Resizes `region` of `image` to `width × height` with the antialiased bilinear filter
    /// (PIL's `Image.resize(..., BILINEAR)`, as torchvision uses), returning the packed RGB
    /// bytes, row-major.
    pub fn resize(
        &mut self,
        image: &RgbImage,
        region: Region,
        width: u32,
        height: u32,
    ) -> Result<&mut [u8]> {
        let fail = |m: String| DataError::Config(format!("resize: {m}"));
        let src = ImageRef::new(
            image.width(),
            image.height(),
            image.as_raw(),
            PixelType::U8x3,
        )
        .map_err(|e| fail(e.to_string()))?;
        self.buffer.resize(width as usize * height as usize * 3, 0);
        let mut dst = Image::from_slice_u8(width, height, &mut self.buffer, PixelType::U8x3)
            .map_err(|e| fail(e.to_string()))?;
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
            .crop(region.left, region.top, region.width, region.height);
        self.resizer
            .resize(&src, &mut dst, &options)
            .map_err(|e| fail(e.to_string()))?;
        Ok(&mut self.buffer)
    }
}
