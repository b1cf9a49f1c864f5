//! Fuzz targets of the dataset parsers (issue 16, item 5): arbitrary bytes and mutated valid
//! files fed to the IDX reader (Fashion-MNIST), the MAT-v5 reader and the Cars196 annotation
//! parsers, the SOP / In-Shop / CUB list parsers, the DeepFashion2 JSON reader, the JSON Lines
//! text reader and the image decoder (JPEG, PNG). Each must return a value or a typed error
//! naming the file, never panic, and never allocate what a size field claims before the data
//! backs it. `XBN_FUZZ_CASES=N` sets the number of cases per
//! target (default: a few seconds each).

mod fuzz_support;

use std::io::{Read, Write};
use std::path::Path;

use fuzz_support::{config, input};
use proptest::prelude::*;
use xbn_data::readers::idx::{IdxArray, read_idx};
use xbn_data::readers::{cars, cub, deepfashion2, inshop, matv5, sop};
use xbn_data::{DataError, LoadOptions, Split};

/// The folder every fuzzed file is named in (nothing is read or written there).
const DIR: &str = "/nonexistent/fuzz";

fn options() -> LoadOptions {
    LoadOptions {
        verify_files: false,
        ..LoadOptions::default()
    }
}

/// A typed error that names a file of the fuzzed dataset.
fn check_error(err: &DataError) -> Result<(), TestCaseError> {
    let named = match err {
        DataError::Io { path, .. }
        | DataError::Parse { path, .. }
        | DataError::Annotation { path, .. }
        | DataError::Decode { path, .. } => path.starts_with(DIR),
        DataError::Layout(message) => message.contains(DIR),
        _ => false,
    };
    prop_assert!(named, "error does not name the file: {err:?}");
    Ok(())
}

fn test_data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn check_idx(result: xbn_data::Result<IdxArray>) -> Result<(), TestCaseError> {
    match result {
        Ok(array) => {
            let size: usize = array.dims.iter().product();
            prop_assert_eq!(array.data.len(), size);
        }
        Err(e) => check_error(&e)?,
    }
    Ok(())
}

const INSHOP: &str = "4
image_name item_id evaluation_status
img/WOMEN/Dresses/id_00000002/02_1_front.jpg                        id_00000002 train
img/MEN/Denim/id_00000080/01_1_front.jpg                            id_00000080 train
img/WOMEN/Blouses_Shirts/id_00000001/02_1_front.jpg                 id_00000001 gallery
img/WOMEN/Blouses_Shirts/id_00000001/02_2_side.jpg                  id_00000001 query
";
const SOP_TRAIN: &str = "image_id class_id super_class_id path
1 1 1 bicycle_final/111085122871_0.JPG
2 1 1 bicycle_final/111085122871_1.JPG
3 2 1 bicycle_final/111265328556_0.JPG
";
const SOP_TEST: &str = "image_id class_id super_class_id path
1 11319 1 bicycle_final/251952414262_0.JPG
2 11320 2 cabinet_final/261107962233_0.JPG
";
const CUB_IMAGES: &str = "1 001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg
2 001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg
3 101.White_Pelican/White_Pelican_0025_97604.jpg
";
const CUB_LABELS: &str = "1 1\n2 1\n3 101\n";
const DF2: &str = r#"{"source": "user", "pair_id": 7,
"item1": {"segmentation": [[1, 2, 3, 4, 5, 6]], "scale": 1, "viewpoint": 2, "zoom_in": 1,
  "landmarks": [0, 0, 0], "style": 1, "bounding_box": [1, 2, 10, 12], "category_id": 1,
  "occlusion": 1, "category_name": "short sleeve top"},
"item2": {"style": 0, "bounding_box": [0, 0, 5, 5], "category_id": 8}}"#;

proptest! {
    #![proptest_config(config(50_000))]

    #[test]
    fn idx_reader(
        bytes in input(idx_bytes(0x803, &[3, 2, 2], &[7; 12])),
        gz in any::<bool>(),
    ) {
        let origin = Path::new(DIR).join("train-images-idx3-ubyte.gz");
        let result = if gz {
            read_idx(flate2::read::GzDecoder::new(&gzip(&bytes)[..]), &origin, 0x803, 3)
        } else {
            read_idx(&bytes[..], &origin, 0x803, 3)
        };
        check_idx(result)?;
    }

    /// Corrupt gzip streams around a valid IDX file.
    #[test]
    fn idx_reader_on_corrupt_gzip(bytes in input(gzip(&idx_bytes(0x801, &[5], &[1, 2, 3, 4, 5])))) {
        let origin = Path::new(DIR).join("train-labels-idx1-ubyte.gz");
        check_idx(read_idx(flate2::read::GzDecoder::new(&bytes[..]), &origin, 0x801, 1))?;
    }
}

proptest! {
    #![proptest_config(config(30_000))]

    #[test]
    fn mat_reader_plain(bytes in input(test_data("cars_annos_plain.mat"))) {
        let origin = Path::new(DIR).join("cars_annos.mat");
        match cars::parse_mat(&bytes, &origin, Path::new(DIR), &options()) {
            Ok(out) => prop_assert!(out.index.items.len() <= 5 * 1024),
            Err(e) => check_error(&e)?,
        }
    }

    #[test]
    fn mat_reader_compressed(
        bytes in prop_oneof![
            input(test_data("cars_annos_compressed.mat")),
            input(test_data("cars_train_annos.mat")),
            input(test_data("cars_test_annos_withlabels.mat")),
        ],
    ) {
        let origin = Path::new(DIR).join("cars_annos.mat");
        if let Err(e) = matv5::parse_mat(&bytes, &origin) {
            check_error(&e)?;
        }
    }

    #[test]
    fn cars_csv_parser(bytes in input(test_data("cars_annos_expected.csv"))) {
        let origin = Path::new(DIR).join("cars_annos.csv");
        if let Err(e) = cars::parse_csv(&bytes, &origin, Path::new(DIR), &options()) {
            check_error(&e)?;
        }
    }
}

proptest! {
    #![proptest_config(config(100_000))]

    #[test]
    fn inshop_list_parser(bytes in input(INSHOP.as_bytes().to_vec())) {
        let origin = Path::new(DIR).join("list_eval_partition.txt");
        match inshop::parse(&bytes, &origin, Path::new(DIR), &options()) {
            Ok(out) => {
                let count: Option<usize> = String::from_utf8_lossy(&bytes)
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .and_then(|l| l.trim().parse().ok());
                prop_assert_eq!(Some(out.index.items.len()), count);
            }
            Err(e) => check_error(&e)?,
        }
    }

    #[test]
    fn sop_list_parser(
        train in input(SOP_TRAIN.as_bytes().to_vec()),
        test in input(SOP_TEST.as_bytes().to_vec()),
    ) {
        if let Err(e) = sop::parse(&train, &test, Path::new(DIR), &options()) {
            check_error(&e)?;
        }
    }

    #[test]
    fn cub_list_parser(
        images in input(CUB_IMAGES.as_bytes().to_vec()),
        labels in input(CUB_LABELS.as_bytes().to_vec()),
    ) {
        if let Err(e) = cub::parse(&images, &labels, Path::new(DIR), &options()) {
            check_error(&e)?;
        }
    }

    #[test]
    fn deepfashion2_json_reader(bytes in input(DF2.as_bytes().to_vec()), test in any::<bool>()) {
        let origin = Path::new(DIR).join("annos/000001.json");
        let split = if test { Split::Test } else { Split::Train };
        match deepfashion2::parse_annotation(&bytes, &origin, split) {
            Ok(a) => {
                for item in a.items {
                    prop_assert!(item.crop.x1 <= item.crop.x2 && item.crop.y1 <= item.crop.y2);
                }
            }
            Err(e) => check_error(&e)?,
        }
    }
}

const JSONL: &str = r#"{"text": "a small songbird", "label": "bird", "split": "train"}
{"text": "a raptor", "label": "bird", "split": "train"}
{"text": "a large cat", "label": 3, "split": "test", "id": 7}
{"text": "a whale", "label": "mammal", "split": "test"}
{"text": "a lizard", "label": "reptile", "split": "train"}
"#;

proptest! {
    #![proptest_config(config(2000))]

    /// The JSON Lines text reader, through a file (it has no bytes-level entry point).
    #[test]
    fn jsonl_reader(bytes in input(JSONL.as_bytes().to_vec())) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.jsonl");
        std::fs::write(&file, &bytes).unwrap();
        match xbn_data::load_dataset(xbn_data::DatasetKind::Jsonl, &file, &options()) {
            Ok(index) => prop_assert!(index.items.len() <= bytes.len()),
            Err(e) => {
                let named = match &e {
                    DataError::Parse { path, .. } | DataError::Io { path, .. } => path == &file,
                    DataError::Layout(message) => message.contains(&file.display().to_string()),
                    _ => false,
                };
                prop_assert!(named, "error does not name the file: {e:?}");
            }
        }
    }
}

/// A tiny image encoded as `format`.
fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(9, 7, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 99]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

proptest! {
    #![proptest_config(config(50_000))]

    /// Dataset images (JPEG, PNG): decoded, or a `DataError::Decode` naming the file.
    #[test]
    fn image_decoder(
        bytes in prop_oneof![
            input(encoded(image::ImageFormat::Jpeg)),
            input(encoded(image::ImageFormat::Png)),
        ],
    ) {
        let origin = Path::new(DIR).join("img/WOMEN/x.jpg");
        match xbn_data::pipeline::decode_image(&bytes, &origin) {
            // The decoder's default memory limit (512 MiB) bounds what a header can claim; a
            // few hundred mutated bytes can still claim (and get) hundreds of megapixels.
            Ok(img) => prop_assert!(3 * img.width() as u64 * img.height() as u64 <= 512 << 20),
            Err(e) => {
                prop_assert!(matches!(e, DataError::Decode { .. }), "{e:?}");
                check_error(&e)?;
            }
        }
    }
}

/// A PNG whose header claims 100,000 × 100,000 pixels (30 GB of RGB) is refused by the
/// decoder's memory limit, not allocated.
#[test]
fn png_claiming_ten_billion_pixels_is_refused() {
    let mut png = encoded(image::ImageFormat::Png);
    // IHDR's width and height follow the 8-byte signature, the chunk length and type.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new(); // CRC-32 (IEEE), as PNG chunks carry it
    crc.update(&png[12..29]);
    let crc = crc.sum();
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let err = xbn_data::pipeline::decode_image(&png, Path::new("huge.png")).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err:?}");
}

/// A header claiming 10^12 elements is refused before anything is read or allocated (the data
/// behind it never ends).
#[test]
fn idx_header_claiming_1e12_elements_is_refused_before_reading() {
    let header = idx_bytes(0x803, &[1_000_000, 1_000_000, 1], &[]);
    let endless = (&header[..]).chain(std::io::repeat(0));
    let err = read_idx(endless, Path::new("big.idx"), 0x803, 3).unwrap_err();
    assert!(matches!(err, DataError::Annotation { .. }), "{err:?}");
    assert!(err.to_string().contains("1000000"), "{err}");
}

/// A header of plausible size followed by endless data (a decompression bomb) stops one byte
/// past the size the header gives.
#[test]
fn idx_endless_data_is_read_only_to_the_claimed_size() {
    let header = idx_bytes(0x803, &[10, 28, 28], &[]);
    let endless = (&header[..]).chain(std::io::repeat(0));
    let err = read_idx(endless, Path::new("bomb.idx"), 0x803, 3).unwrap_err();
    assert!(err.to_string().contains("7840 bytes of data"), "{err}");
}

/// A MAT element whose zlib stream inflates past the limit is refused before it is all read.
#[test]
fn mat_zlib_bomb_is_refused() {
    let mut zeros = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..(matv5::MAX_INFLATED_BYTES >> 20) + 1 {
        zeros.write_all(&chunk).unwrap();
    }
    let compressed = zeros.finish().unwrap();
    let mut bytes = vec![b' '; 126];
    bytes.extend(b"IM");
    bytes.extend(15u32.to_le_bytes());
    bytes.extend((compressed.len() as u32).to_le_bytes());
    bytes.extend(&compressed);
    let err = matv5::parse_mat(&bytes, Path::new("bomb.mat")).unwrap_err();
    assert!(err.to_string().contains("inflate to more than"), "{err}");
}

/// A MAT data element: tag, data, padding to 8 bytes.
fn mat_element(kind: u32, data: &[u8]) -> Vec<u8> {
    let mut out = kind.to_le_bytes().to_vec();
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(data);
    out.resize(out.len().div_ceil(8) * 8, 0);
    out
}

/// An unnamed `miMATRIX` of MATLAB class `class` with dimensions `dims` and contents `body`.
fn mat_matrix(class: u8, dims: [i32; 2], body: &[u8]) -> Vec<u8> {
    let mut d = mat_element(6, &[class, 0, 0, 0, 0, 0, 0, 0]);
    d.extend(mat_element(
        5,
        &[dims[0].to_le_bytes(), dims[1].to_le_bytes()].concat(),
    ));
    d.extend(mat_element(1, &[]));
    d.extend(body);
    mat_element(14, &d)
}

fn mat_file(body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![b' '; 126];
    bytes.extend(b"IM");
    bytes.extend(body);
    bytes
}

/// Cell arrays nested 2,000 deep (a 250 KB file): refused at [`matv5::MAX_DEPTH`] instead of
/// recursing, and copying the rest of the file, once per level.
#[test]
fn mat_deep_nesting_is_refused() {
    let mut value = mat_matrix(6, [0, 0], &mat_element(9, &[]));
    for _ in 0..2000 {
        value = mat_matrix(1, [1, 1], &value);
    }
    let err = matv5::parse_mat(&mat_file(&value), Path::new("deep.mat")).unwrap_err();
    assert!(
        err.to_string().contains("nested more than 16 deep"),
        "{err}"
    );
}

/// Cell and struct arrays whose dimensions claim 10^12 elements, or more elements than their
/// data can hold, are refused before anything is allocated for them.
#[test]
fn mat_dimensions_larger_than_the_data_are_refused() {
    let one = mat_matrix(6, [0, 0], &mat_element(9, &[]));
    let cases = [
        mat_matrix(1, [1_000_000, 1_000_000], &one),
        mat_matrix(1, [1, 1000], &one),
        mat_matrix(
            2,
            [1, 1000],
            &[
                mat_element(5, &4i32.to_le_bytes()),
                mat_element(1, b"abc\0"),
                one.clone(),
            ]
            .concat(),
        ),
    ];
    for (k, case) in cases.iter().enumerate() {
        let err = matv5::parse_mat(&mat_file(case), Path::new("claim.mat")).unwrap_err();
        assert!(
            matches!(err, DataError::Annotation { .. }),
            "case {k}: {err:?}"
        );
        assert!(err.to_string().contains("claim.mat"), "case {k}: {err}");
    }
}
