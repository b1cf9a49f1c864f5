//! Decoding files: JPEG and PNG, bounding-box crops, and every bad file naming itself.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use xbn_data::pipeline::load_image;
use xbn_data::{BoundingBox, DataError, ItemSource};

fn pattern(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 7) as u8, (y * 5) as u8, ((x * y) % 251) as u8])
    })
}

fn file(path: &Path, crop: Option<BoundingBox>) -> ItemSource {
    ItemSource::File {
        path: path.to_path_buf(),
        crop,
    }
}

fn save(dir: &Path, name: &str, image: &RgbImage) -> PathBuf {
    let path = dir.join(name);
    image.save(&path).unwrap();
    path
}

#[test]
fn png_and_jpeg_decode_and_crop() {
    let dir = tempfile::tempdir().unwrap();
    let im = pattern(60, 40);
    let png = save(dir.path(), "a.png", &im);
    assert_eq!(load_image(&file(&png, None)).unwrap(), im);
    let jpg = save(dir.path(), "b.jpg", &im);
    let decoded = load_image(&file(&jpg, None)).unwrap();
    assert_eq!(decoded.dimensions(), (60, 40));
    let err: f64 = decoded
        .as_raw()
        .iter()
        .zip(im.as_raw())
        .map(|(&a, &b)| a.abs_diff(b) as f64)
        .sum::<f64>()
        / im.as_raw().len() as f64;
    assert!(err < 12.0, "JPEG mean error {err}");
    let b = BoundingBox {
        x1: 10,
        y1: 5,
        x2: 30,
        y2: 25,
    };
    let crop = load_image(&file(&png, Some(b))).unwrap();
    assert_eq!(crop.dimensions(), (20, 20));
    assert_eq!(crop.get_pixel(0, 0), im.get_pixel(10, 5));
    assert_eq!(crop.get_pixel(19, 19), im.get_pixel(29, 24));
    // A box reaching past the image is clipped to it.
    let b = BoundingBox {
        x1: 50,
        y1: 30,
        x2: 90,
        y2: 90,
    };
    assert_eq!(
        load_image(&file(&png, Some(b))).unwrap().dimensions(),
        (10, 10)
    );
}

fn expect_decode_error(source: &ItemSource, path: &Path, needle: &str) {
    match load_image(source) {
        Err(e @ DataError::Decode { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(msg.contains(needle), "{msg} should mention {needle:?}");
        }
        other => panic!("{}: expected a decode error, got {other:?}", path.display()),
    }
}

#[test]
fn corrupt_truncated_and_missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let jpg = save(dir.path(), "good.jpg", &pattern(64, 64));
    let bytes = std::fs::read(&jpg).unwrap();

    let truncated = dir.path().join("truncated.jpg");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    expect_decode_error(&file(&truncated, None), &truncated, "truncated");

    let garbage = dir.path().join("garbage.jpg");
    let mut g = bytes[..20].to_vec();
    g.extend((0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    g.extend([0xFF, 0xD9]);
    std::fs::write(&garbage, g).unwrap();
    expect_decode_error(&file(&garbage, None), &garbage, "");

    let text = dir.path().join("notes.png");
    std::fs::write(&text, "this is not an image").unwrap();
    expect_decode_error(&file(&text, None), &text, "not a JPEG or PNG");

    let png = save(dir.path(), "cut.png", &pattern(64, 64));
    let png_bytes = std::fs::read(&png).unwrap();
    std::fs::write(&png, &png_bytes[..png_bytes.len() / 2]).unwrap();
    expect_decode_error(&file(&png, None), &png, "");

    let outside = save(dir.path(), "small.png", &pattern(8, 8));
    let b = BoundingBox {
        x1: 20,
        y1: 20,
        x2: 30,
        y2: 30,
    };
    expect_decode_error(&file(&outside, Some(b)), &outside, "does not intersect");

    let missing = dir.path().join("missing.jpg");
    match load_image(&file(&missing, None)) {
        Err(e @ DataError::Io { .. }) => assert!(e.to_string().contains("missing.jpg"), "{e}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn a_text_item_is_not_an_image() {
    let source = ItemSource::Text {
        text: "a red shoe".into(),
        origin: "data/shoes.txt:7".into(),
    };
    assert_eq!(source.describe(), "data/shoes.txt:7");
    match load_image(&source) {
        Err(e @ DataError::Modality { .. }) => {
            assert_eq!(
                e.to_string(),
                "data/shoes.txt:7 is a text sample, not an image"
            );
        }
        other => panic!("expected a modality error, got {other:?}"),
    }
}
