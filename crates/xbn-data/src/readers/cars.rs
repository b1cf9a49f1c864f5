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
//! Following the metric-learning protocol, the official train/test flag is ignored: classes
//! 1–98 (8,054 images) train and classes 99–196 (8,131 images) test, on whole images (no crop).

use std::path::Path;

use super::LoadOptions;
use super::common::{IndexBuilder, ReaderOutput, numbered_lines, parse_error, parse_u64};
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

/// One annotation: image path relative to the root, class, and where it was listed.
type Row = (String, u64, String);

fn mat_rows(path: &Path) -> Result<Vec<Row>> {
    let bad = |m: String| DataError::Annotation {
        path: path.to_path_buf(),
        message: m,
    };
    let vars = read_mat(path)?;
    let (_, annotations) = vars
        .iter()
        .find(|(n, _)| n == "annotations")
        .ok_or_else(|| bad("no variable `annotations`".into()))?;
    let MatValue::Struct { elements, .. } = annotations else {
        return Err(bad("`annotations` is not a struct array".into()));
    };
    (0..elements.len())
        .map(|i| {
            let image = match annotations.field(i, "relative_im_path") {
                Some(MatValue::Char(s)) => s.clone(),
                _ => {
                    return Err(bad(format!(
                        "annotations({}).relative_im_path is not text",
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
    let lines = numbered_lines(path)?;
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

/// Reads Cars196 from `root` (the folder holding `cars_annos.mat` or `cars_annos.csv`, and
/// `car_ims/`).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let mat = root.join(MAT_ANNOTATIONS);
    let rows = if mat.is_file() {
        mat_rows(&mat)?
    } else {
        csv_rows(&root.join(CSV_ANNOTATIONS))?
    };
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
