//! Cars196 (Krause et al., 2013). The official annotations ship as `cars_annos.mat` (a MATLAB
//! struct array), which no well-kept Rust crate reads (`matfile` reads numeric arrays only), so
//! xbn reads the same table converted to CSV, `cars_annos.csv` in the dataset root:
//!
//! ```text
//! relative_im_path,bbox_x1,bbox_y1,bbox_x2,bbox_y2,class,test
//! car_ims/000001.jpg,112,7,853,717,1,0
//! ```
//!
//! one row per entry of the `.mat` file's `annotations`, in its order (`docs/datasets.md` gives
//! the three-line conversion). Paths are relative to the root (which holds `car_ims/`). Following
//! the metric-learning protocol, the official train/test flag is ignored: classes 1–98 (8,054
//! images) train and classes 99–196 (8,131 images) test, on whole images (no box crop).

use std::path::Path;

use super::common::{IndexBuilder, ReaderOutput, numbered_lines, parse_error, parse_u64};
use super::LoadOptions;
use crate::index::{Role, Split};
use crate::Result;

/// Classes `1..=TRAIN_CLASSES` train, the rest test.
pub const TRAIN_CLASSES: u64 = 98;
/// The annotation file read from the dataset root.
pub const ANNOTATIONS: &str = "cars_annos.csv";
const HEADER: [&str; 7] =
    ["relative_im_path", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "test"];

/// Reads Cars196 from `root` (the folder holding `cars_annos.csv` and `car_ims/`).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let path = root.join(ANNOTATIONS);
    let lines = numbered_lines(&path)?;
    let header_ok = lines.first().is_some_and(|(_, h)| {
        h.split(',').map(str::trim).collect::<Vec<_>>() == HEADER
    });
    if !header_ok {
        let (no, found) = lines.first().cloned().unwrap_or((1, String::new()));
        return Err(parse_error(
            &path,
            no,
            format!("expected the header `{}`, found `{found}`", HEADER.join(",")),
        ));
    }
    let mut builder = IndexBuilder::new(options.verify_files);
    for (no, line) in &lines[1..] {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != HEADER.len() {
            return Err(parse_error(
                &path,
                *no,
                format!("expected {} comma-separated fields, found {}: `{line}`", HEADER.len(), f.len()),
            ));
        }
        for (name, value) in HEADER.iter().zip(&f).skip(1) {
            parse_u64(&path, *no, name, value)?;
        }
        let class = parse_u64(&path, *no, "class", f[5])?;
        if class == 0 {
            return Err(parse_error(&path, *no, "class starts at 1, found 0"));
        }
        let (split, role) = if class <= TRAIN_CLASSES {
            (Split::Train, Role::Train)
        } else {
            (Split::Test, Role::QueryAndReference)
        };
        builder.push_file(root.join(f[0]), None, class, split, role, || {
            format!("{}:{no}", path.display())
        })?;
    }
    Ok(builder.finish("cars"))
}
