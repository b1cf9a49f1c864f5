//! The official image and class counts of each dataset, and the comparison of a read index
//! against them.

use std::collections::BTreeSet;

use super::DatasetKind;
use crate::index::{DatasetIndex, Role, Split};

/// Image and class counts of a dataset as its authors (and the metric-learning papers) give
/// them. `None` where the dataset has no fixed number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct OfficialCounts {
    /// Training images.
    pub train_images: usize,
    /// Training classes.
    pub train_classes: usize,
    /// Test images (queries plus gallery for query-vs-gallery protocols).
    pub test_images: usize,
    /// Test classes.
    pub test_classes: usize,
    /// Query images of a query-vs-gallery protocol.
    pub queries: Option<usize>,
    /// Gallery images of a query-vs-gallery protocol.
    pub gallery: Option<usize>,
}

/// The official counts of `kind`, where it has fixed ones.
pub fn official_counts(kind: DatasetKind) -> Option<OfficialCounts> {
    let c = |train_images, train_classes, test_images, test_classes| OfficialCounts {
        train_images,
        train_classes,
        test_images,
        test_classes,
        queries: None,
        gallery: None,
    };
    match kind {
        DatasetKind::Sop => Some(c(59_551, 11_318, 60_502, 11_316)),
        DatasetKind::InShop => Some(OfficialCounts {
            queries: Some(14_218),
            gallery: Some(12_612),
            ..c(25_882, 3_997, 26_830, 3_985)
        }),
        DatasetKind::Cub => Some(c(5_864, 100, 5_924, 100)),
        DatasetKind::Cars => Some(c(8_054, 98, 8_131, 98)),
        DatasetKind::FashionMnist => Some(c(35_000, 5, 35_000, 5)),
        DatasetKind::DeepFashion2
        | DatasetKind::Folder
        | DatasetKind::Synthetic
        | DatasetKind::TextFolder
        | DatasetKind::Jsonl => None,
    }
}

/// The counts of a read index, in the shape of [`OfficialCounts`].
pub fn index_counts(index: &DatasetIndex) -> OfficialCounts {
    let mut classes = [BTreeSet::new(), BTreeSet::new()];
    let mut images = [0usize; 2];
    let (mut queries, mut gallery) = (0usize, 0usize);
    for item in &index.items {
        let s = usize::from(item.split == Split::Test);
        images[s] += 1;
        classes[s].insert(item.label);
        match item.role {
            Role::Query => queries += 1,
            Role::Gallery => gallery += 1,
            Role::Train | Role::QueryAndReference => {}
        }
    }
    OfficialCounts {
        train_images: images[0],
        train_classes: classes[0].len(),
        test_images: images[1],
        test_classes: classes[1].len(),
        queries: (queries > 0).then_some(queries),
        gallery: (gallery > 0).then_some(gallery),
    }
}

/// One message per count of `index` that differs from the official count of `kind` (empty when
/// all agree or `kind` has no official counts). A partial or modified copy of a dataset (or a
/// small test fixture) lists its differences here; it is not an error by itself.
pub fn count_mismatches(kind: DatasetKind, index: &DatasetIndex) -> Vec<String> {
    let Some(official) = official_counts(kind) else {
        return Vec::new();
    };
    let found = index_counts(index);
    let pairs = [
        (
            "train images",
            found.train_images,
            Some(official.train_images),
        ),
        (
            "train classes",
            found.train_classes,
            Some(official.train_classes),
        ),
        ("test images", found.test_images, Some(official.test_images)),
        (
            "test classes",
            found.test_classes,
            Some(official.test_classes),
        ),
        ("queries", found.queries.unwrap_or(0), official.queries),
        (
            "gallery images",
            found.gallery.unwrap_or(0),
            official.gallery,
        ),
    ];
    pairs
        .into_iter()
        .filter_map(|(what, got, want)| {
            let want = want?;
            (got != want).then(|| {
                format!(
                    "{kind}: {got} {what}, the official dataset has {want} (partial or modified \
                     copy?)"
                )
            })
        })
        .collect()
}
