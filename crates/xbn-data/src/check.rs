//! The data check users run after downloading a dataset (`xbn-train data-check`, and the layout
//! check of `cargo xtask fetch-data`): per split, images, classes, queries/gallery and images per
//! class, and every problem found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::Result;
use crate::index::{DatasetIndex, Role, Split};
use crate::readers::{DatasetKind, LoadOptions, count_mismatches, official_counts, read_dataset};

/// How many missing image files the report lists by name (the rest are counted).
pub const MAX_LISTED_MISSING: usize = 20;

/// Smallest, median and largest number of images per class.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PerClass {
    /// Fewest images of a class.
    pub min: usize,
    /// Median (the mean of the two middle values for an even number of classes).
    pub median: f64,
    /// Most images of a class.
    pub max: usize,
}

/// Statistics of one split.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SplitReport {
    /// `train` or `test`.
    pub split: String,
    /// Number of images (or cropped items).
    pub images: usize,
    /// Number of classes.
    pub classes: usize,
    /// Query images, for query-vs-gallery protocols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries: Option<usize>,
    /// Gallery images, for query-vs-gallery protocols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gallery: Option<usize>,
    /// Queries whose class has no gallery image (they cannot be retrieved; evaluation skips
    /// them), for query-vs-gallery protocols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries_without_gallery: Option<usize>,
    /// Images per class (absent for an empty split).
    pub images_per_class: Option<PerClass>,
}

/// What [`check_dataset`] found, printed as JSON by `xbn-train data-check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DataCheckReport {
    /// The dataset's command-line name.
    pub dataset: String,
    /// The root folder checked.
    pub root: String,
    /// Statistics of the train and test splits.
    pub splits: Vec<SplitReport>,
    /// Missing image files in all.
    pub missing_images: usize,
    /// Every problem found, one sentence each (missing files, counts that differ from the
    /// official ones, empty splits). Empty when the dataset is complete.
    pub problems: Vec<String>,
    /// `true` when `problems` is empty.
    pub ok: bool,
}

/// Statistics of one split of `index`.
pub fn split_report(index: &DatasetIndex, split: Split) -> SplitReport {
    let mut per_class: BTreeMap<u32, usize> = BTreeMap::new();
    let mut gallery_classes = BTreeSet::new();
    let (mut images, mut queries, mut gallery) = (0, 0, 0);
    for item in index.items.iter().filter(|i| i.split == split) {
        images += 1;
        *per_class.entry(item.label).or_default() += 1;
        match item.role {
            Role::Query => queries += 1,
            Role::Gallery => {
                gallery += 1;
                gallery_classes.insert(item.label);
            }
            Role::Train | Role::QueryAndReference => {}
        }
    }
    let orphans = index
        .items
        .iter()
        .filter(|i| i.split == split && i.role == Role::Query)
        .filter(|i| !gallery_classes.contains(&i.label))
        .count();
    let mut counts: Vec<usize> = per_class.into_values().collect();
    counts.sort_unstable();
    let images_per_class = (!counts.is_empty()).then(|| {
        let n = counts.len();
        let median = if n % 2 == 1 {
            counts[n / 2] as f64
        } else {
            (counts[n / 2 - 1] + counts[n / 2]) as f64 / 2.0
        };
        PerClass {
            min: counts[0],
            median,
            max: counts[n - 1],
        }
    });
    let protocol = queries + gallery > 0;
    SplitReport {
        split: if split == Split::Train {
            "train"
        } else {
            "test"
        }
        .to_string(),
        images,
        classes: counts.len(),
        queries: protocol.then_some(queries),
        gallery: protocol.then_some(gallery),
        queries_without_gallery: protocol.then_some(orphans),
        images_per_class,
    }
}

/// Reads dataset `kind` from `root`, checks that every listed image file exists (whatever
/// `options.verify_files` says) and compares the counts with the official ones. Problems are
/// reported, not raised: the result is an error only when the annotations themselves cannot be
/// read (a missing or malformed annotation file), naming the file and line.
///
/// ```
/// # fn main() -> xbn_data::Result<()> {
/// use xbn_data::{DatasetKind, LoadOptions, check_dataset};
/// let root = tempfile::tempdir().unwrap();
/// std::fs::create_dir_all(root.path().join("cat")).unwrap();
/// image::RgbImage::new(4, 4).save(root.path().join("cat/a.png")).unwrap();
/// let report = check_dataset(DatasetKind::Folder, root.path(), &LoadOptions::default())?;
/// assert_eq!(report.splits[0].images, 1);
/// println!("{}", serde_json::to_string_pretty(&report).unwrap());
/// # Ok(()) }
/// ```
pub fn check_dataset(
    kind: DatasetKind,
    root: &Path,
    options: &LoadOptions,
) -> Result<DataCheckReport> {
    let options = LoadOptions {
        verify_files: true,
        ..options.clone()
    };
    let output = read_dataset(kind, root, &options)?;
    let index = &output.index;
    let splits = vec![
        split_report(index, Split::Train),
        split_report(index, Split::Test),
    ];
    let mut problems = Vec::new();
    for m in output.missing.iter().take(MAX_LISTED_MISSING) {
        problems.push(format!(
            "missing image file {} (listed in {})",
            m.image.display(),
            m.listed_in
        ));
    }
    if output.missing.len() > MAX_LISTED_MISSING {
        problems.push(format!(
            "… and {} more missing image files",
            output.missing.len() - MAX_LISTED_MISSING
        ));
    }
    for s in &splits {
        if s.images == 0 {
            problems.push(format!("the {} split is empty", s.split));
        }
    }
    if official_counts(kind).is_some() {
        problems.extend(count_mismatches(kind, index));
    }
    Ok(DataCheckReport {
        dataset: kind.name().to_string(),
        root: root.display().to_string(),
        splits,
        missing_images: output.missing.len(),
        ok: problems.is_empty(),
        problems,
    })
}
