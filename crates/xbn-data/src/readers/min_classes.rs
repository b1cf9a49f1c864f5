//! The check of the text readers' output: a dataset with samples, and at least two classes in
//! each split (a retrieval split with one class has no negatives).

use std::collections::BTreeSet;
use std::path::Path;

use crate::index::{DatasetIndex, Split};
use crate::{DataError, Result};

/// Fewest classes a split may have.
pub const MIN_CLASSES_PER_SPLIT: usize = 2;

/// `Ok` when `index` has items and each split at least [`MIN_CLASSES_PER_SPLIT`] classes;
/// otherwise a [`DataError::Layout`] naming `root` (`what` says what was looked for).
pub(crate) fn require_classes(root: &Path, index: &DatasetIndex, what: &str) -> Result<()> {
    if index.items.is_empty() {
        return Err(DataError::Layout(format!(
            "{}: empty dataset, no {what} found",
            root.display()
        )));
    }
    for (split, name) in [(Split::Train, "train"), (Split::Test, "test")] {
        let classes: BTreeSet<u32> = index
            .items
            .iter()
            .filter(|item| item.split == split)
            .map(|item| item.label)
            .collect();
        if classes.len() < MIN_CLASSES_PER_SPLIT {
            return Err(DataError::Layout(format!(
                "{}: the {name} split has {} class{}; each split needs at least \
                 {MIN_CLASSES_PER_SPLIT} (with no split given, the first \
                 round(folder_train_fraction · n) classes train)",
                root.display(),
                classes.len(),
                if classes.len() == 1 { "" } else { "es" }
            )));
        }
    }
    Ok(())
}
