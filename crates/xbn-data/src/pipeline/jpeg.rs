//! Detecting truncated JPEG files, which the decoder would silently complete with grey.

/// Whether the JPEG stream `bytes` reaches its end-of-image marker: walks the marker segments
/// from SOI (`FF D8`), skipping each segment by its length and each scan's entropy-coded data
/// up to the next marker (`FF` followed by neither the stuffing byte `00` nor a restart marker
/// `D0`–`D7`), until EOI (`FF D9`). Data after EOI (some cameras append metadata) is allowed.
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return false;
    }
    let mut i = 2;
    loop {
        // Skip fill bytes before a marker.
        while i < bytes.len() && bytes[i] == 0xFF && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 1 >= bytes.len() || bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        i += 2;
        match marker {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        if i + 1 >= bytes.len() {
            return false;
        }
        let length = u16::from_be_bytes([bytes[i], bytes[i + 1]]) as usize;
        if length < 2 {
            return false;
        }
        i += length;
        if marker == 0xDA {
            // Entropy-coded data: find the next real marker.
            loop {
                if i + 1 >= bytes.len() {
                    return false;
                }
                if bytes[i] == 0xFF && !matches!(bytes[i + 1], 0x00 | 0xD0..=0xD7 | 0xFF) {
                    break;
                }
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::jpeg_is_complete;

    #[test]
    fn every_prefix_of_a_jpeg_is_incomplete() {
        let image =
            image::RgbImage::from_fn(40, 24, |x, y| image::Rgb([x as u8 * 6, y as u8 * 9, 77]));
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85)
            .encode_image(&image)
            .unwrap();
        assert!(jpeg_is_complete(&bytes));
        for cut in 0..bytes.len() {
            assert!(
                !jpeg_is_complete(&bytes[..cut]),
                "prefix of {cut} of {} bytes",
                bytes.len()
            );
        }
        bytes.extend_from_slice(b"trailing metadata \xFF\xD8 after EOI");
        assert!(jpeg_is_complete(&bytes));
    }
}
