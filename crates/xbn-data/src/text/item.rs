//! The text of a dataset item.

use crate::{DataError, Item, ItemSource, Result};

/// The text of `item`, or a [`DataError::Modality`] error (`<origin> is an image, not a text
/// sample`) for an image item.
pub fn text_of(item: &Item) -> Result<&str> {
    match &item.source {
        ItemSource::Text { text, .. } => Ok(text),
        other => Err(DataError::Modality {
            origin: other.describe(),
            found: "an image",
            expected: "a text sample",
        }),
    }
}
