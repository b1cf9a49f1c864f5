//! The class split of datasets that carry none: the first `round(fraction · n)` of the
//! name-sorted classes train, the rest test ([`LoadOptions::folder_train_fraction`]). The
//! `folder`, `text-folder` and `jsonl` readers share it.
//!
//! [`LoadOptions::folder_train_fraction`]: super::LoadOptions::folder_train_fraction

use crate::index::Split;
use crate::{DataError, Result};

/// Assigns each of `classes` (already in their sorted order) a split: the first
/// `round(fraction · n)` train, the rest test. A fraction outside `[0, 1]` is a
/// [`DataError::Config`].
pub(crate) fn split_by_fraction<T>(classes: Vec<T>, fraction: f64) -> Result<Vec<(Split, T)>> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(DataError::Config(format!(
            "folder_train_fraction must be in [0, 1], found {fraction}"
        )));
    }
    let n_train = (fraction * classes.len() as f64).round() as usize;
    Ok(classes
        .into_iter()
        .enumerate()
        .map(|(i, class)| {
            let split = if i < n_train {
                Split::Train
            } else {
                Split::Test
            };
            (split, class)
        })
        .collect())
}

/// The role of an item of a leave-one-out dataset: [`Role::Train`](crate::Role::Train) in the
/// training split, [`Role::QueryAndReference`](crate::Role::QueryAndReference) in the test split.
pub(crate) fn leave_one_out_role(split: Split) -> crate::Role {
    match split {
        Split::Train => crate::Role::Train,
        Split::Test => crate::Role::QueryAndReference,
    }
}
