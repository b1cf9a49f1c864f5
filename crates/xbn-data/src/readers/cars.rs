//! Cars196 (Krause et al., 2013), as distributed: `cars_annos.mat` in the dataset root beside
//! `car_ims/`. The MAT file's struct array `annotations` has, per image, `relative_im_path`,
//! `bbox_x1..bbox_y2`, `class` (1–196) and `test`; it is read by [`super::matv5`]. Where only a
//! CSV export of that table is at hand, `cars_annos.csv` is read instead:
//!
//! ```text
//! relative_im_path,bbox_x1,bbox_y1,bbox_x2,bbox_y2,class,test
//! car_ims/000001.jpg,112,7,853,717,1,0
//! ```
//!
//! The devkit release (`car_devkit.tgz`, `cars_train.tgz`, `cars_test.tgz` and
//! `cars_test_annos_withlabels.mat`, the layout torchvision's `StanfordCars` expects) is read
//! too: `devkit/cars_train_annos.mat` and `cars_test_annos_withlabels.mat` (beside `devkit/` or
//! in it) have the same struct array with `fname` instead of `relative_im_path`, images under
//! `cars_train/` and `cars_test/`; both files are pooled. Any of these may sit in a kept top
//! folder ([`TOPS`]).
//!
//! Following the metric-learning protocol, the official train/test flag is ignored: classes
//! 1–98 (8,054 images) train and classes 99–196 (8,131 images) test, on whole images (no crop).

use std::path::{Path, PathBuf};

use super::LoadOptions;
use super::common::{
    IndexBuilder, ReaderOutput, numbered_lines, numbered_lines_of, parse_error, parse_u64,
};
use super::locate::{Entry, first_existing, top_containing, under_tops};
use super::matv5::{MatValue, read_mat};
use crate::index::{Role, Split};
use crate::{DataError, Result};

/// Classes `1..=TRAIN_CLASSES` train, the rest test.
pub const TRAIN_CLASSES: u64 = 98;
/// The official annotation file.
pub const MAT_ANNOTATIONS: &str = "cars_annos.mat";
/// The CSV export read when the MAT file is absent.
pub const CSV_ANNOTATIONS: &str = "cars_annos.csv";
const HEADER: [&str; 7] = [
    "relative_im_path",
    "bbox_x1",
    "bbox_y1",
    "bbox_x2",
    "bbox_y2",
    "class",
    "test",
];

/// The devkit's training annotations, relative to a top folder.
pub const DEVKIT_TRAIN: &str = "devkit/cars_train_annos.mat";
/// The devkit layout's labelled test annotations (published beside the devkit).
pub const DEVKIT_TEST: &str = "cars_test_annos_withlabels.mat";
/// The dataset's folder, which may be kept above its files (`""`: the root itself).
pub const TOPS: [&str; 4] = ["", "Cars196", "cars196", "stanford_cars"];
/// The annotation files tried in each top folder, in order.
pub const ANNOTATIONS: [&str; 4] = [
    MAT_ANNOTATIONS,
    CSV_ANNOTATIONS,
    "devkit/cars_annos.mat",
    DEVKIT_TRAIN,
];

/// One annotation: image path relative to the root, class, and where it was listed.
type Row = (String, u64, String);

/// The rows of a MAT annotation file: image paths from field `path_field`, prefixed with
/// `prefix`.
fn mat_rows(path: &Path, path_field: &str, prefix: &str) -> Result<Vec<Row>> {
    mat_rows_of(&read_mat(path)?, path, path_field, prefix)
}

/// The rows of the variables `vars` of the MAT file `path`.
fn mat_rows_of(
    vars: &[(String, MatValue)],
    path: &Path,
    path_field: &str,
    prefix: &str,
) -> Result<Vec<Row>> {
    let bad = |m: String| DataError::Annotation {
        path: path.to_path_buf(),
        message: m,
    };
    let (_, annotations) = vars
        .iter()
        .find(|(n, _)| n == "annotations")
        .ok_or_else(|| bad("no variable `annotations`".into()))?;
    let MatValue::Struct { elements, .. } = annotations else {
        return Err(bad("`annotations` is not a struct array".into()));
    };
    (0..elements.len())
        .map(|i| {
            let image = match annotations.field(i, path_field) {
                Some(MatValue::Char(s)) => format!("{prefix}{s}"),
                _ => {
                    return Err(bad(format!(
                        "annotations({}).{path_field} is not text",
                        i + 1
                    )));
                }
            };
            let class = match annotations.field(i, "class") {
                Some(MatValue::Numeric(v))
                    if v.len() == 1 && v[0] >= 1.0 && v[0].fract() == 0.0 =>
                {
                    v[0] as u64
                }
                other => {
                    return Err(bad(format!(
                        "annotations({}).class must be one integer ≥ 1, found {other:?}",
                        i + 1
                    )));
                }
            };
            Ok((
                image,
                class,
                format!("{} annotations({})", path.display(), i + 1),
            ))
        })
        .collect()
}

fn csv_rows(path: &Path) -> Result<Vec<Row>> {
    csv_rows_of(&numbered_lines(path)?, path)
}

/// The rows of the CSV export `path`, given as its numbered lines.
fn csv_rows_of(lines: &[(usize, String)], path: &Path) -> Result<Vec<Row>> {
    let header_ok = lines
        .first()
        .is_some_and(|(_, h)| h.split(',').map(str::trim).collect::<Vec<_>>() == HEADER);
    if !header_ok {
        let (no, found) = lines.first().cloned().unwrap_or((1, String::new()));
        return Err(parse_error(
            path,
            no,
            format!(
                "expected the header `{}`, found `{found}`",
                HEADER.join(",")
            ),
        ));
    }
    let mut rows = Vec::with_capacity(lines.len());
    for (no, line) in &lines[1..] {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != HEADER.len() {
            return Err(parse_error(
                path,
                *no,
                format!(
                    "expected {} comma-separated fields, found {}: `{line}`",
                    HEADER.len(),
                    f.len()
                ),
            ));
        }
        for (name, value) in HEADER.iter().zip(&f).skip(1) {
            parse_u64(path, *no, name, value)?;
        }
        let class = parse_u64(path, *no, "class", f[5])?;
        if class == 0 {
            return Err(parse_error(path, *no, "class starts at 1, found 0"));
        }
        rows.push((f[0].to_string(), class, format!("{}:{no}", path.display())));
    }
    Ok(rows)
}

/// The annotation rows and the folder their image paths are relative to.
fn locate_rows(root: &Path) -> Result<(Vec<Row>, PathBuf)> {
    let annos = first_existing(
        root,
        "the Cars196 annotations",
        under_tops(root, &TOPS, &ANNOTATIONS),
        Entry::File,
    )?;
    let top = top_containing(root, &TOPS, &annos);
    let rows = if annos.ends_with(DEVKIT_TRAIN) {
        let test = first_existing(
            root,
            &format!(
                "the labelled test annotations `{DEVKIT_TEST}` (for {}; the devkit's \
                 `cars_test_annos.mat` has no classes)",
                annos.display()
            ),
            vec![top.join(DEVKIT_TEST), top.join("devkit").join(DEVKIT_TEST)],
            Entry::File,
        )?;
        let mut rows = mat_rows(&annos, "fname", "cars_train/")?;
        rows.extend(mat_rows(&test, "fname", "cars_test/")?);
        rows
    } else if annos.extension().is_some_and(|e| e == "csv") {
        csv_rows(&annos)?
    } else {
        mat_rows(&annos, "relative_im_path", "")?
    };
    Ok((rows, top))
}

/// Reads Cars196 from `root`: the folder holding `cars_annos.mat` (or `cars_annos.csv`) and
/// `car_ims/`, or the devkit layout, or the parent of either.
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let (rows, top) = locate_rows(root)?;
    build(rows, &top, options)
}

/// Parses the bytes of a `cars_annos.mat`, named `origin` in errors; image paths are relative
/// to `root` (only stat-ed with `options.verify_files`).
pub fn parse_mat(
    bytes: &[u8],
    origin: &Path,
    root: &Path,
    options: &LoadOptions,
) -> Result<ReaderOutput> {
    let vars = super::matv5::parse_mat(bytes, origin)?;
    build(
        mat_rows_of(&vars, origin, "relative_im_path", "")?,
        root,
        options,
    )
}

/// Parses the bytes of a `cars_annos.csv`, named `origin` in errors; image paths are relative
/// to `root` (only stat-ed with `options.verify_files`).
pub fn parse_csv(
    bytes: &[u8],
    origin: &Path,
    root: &Path,
    options: &LoadOptions,
) -> Result<ReaderOutput> {
    let lines = numbered_lines_of(bytes, origin)?;
    build(csv_rows_of(&lines, origin)?, root, options)
}

/// The index of `rows`, image paths relative to `root`.
fn build(rows: Vec<Row>, root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let mut builder = IndexBuilder::new(options.verify_files);
    for (image, class, listed_in) in rows {
        let (split, role) = if class <= TRAIN_CLASSES {
            (Split::Train, Role::Train)
        } else {
            (Split::Test, Role::QueryAndReference)
        };
        builder.push_file(root.join(image), None, class, split, role, || {
            listed_in.clone()
        })?;
    }
    Ok(builder.finish("cars"))
}
