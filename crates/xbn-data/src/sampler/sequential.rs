//! In-order batches for evaluation.

use crate::index::{DatasetIndex, Split};
use crate::{DataError, Result};

/// Yields the given item indices in order, `batch_size` at a time; the last batch holds the
/// remainder (no item is dropped or repeated), so evaluation sees every item exactly once.
#[derive(Debug, Clone)]
pub struct SequentialSampler {
    indices: Vec<usize>,
    batch_size: usize,
    position: usize,
}

impl SequentialSampler {
    /// Batches of `batch_size` over `indices`, in their order.
    pub fn new(indices: Vec<usize>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::Config(
                "batch size must be at least 1, found 0".into(),
            ));
        }
        Ok(Self {
            indices,
            batch_size,
            position: 0,
        })
    }

    /// Batches over the items of one split of `index`, in index order.
    ///
    /// ```
    /// use xbn_data::{DatasetIndex, Split, sampler::SequentialSampler};
    /// let empty = DatasetIndex::default();
    /// let batches: Vec<Vec<usize>> =
    ///     SequentialSampler::over_split(&empty, Split::Test, 32).unwrap().collect();
    /// assert!(batches.is_empty());
    /// ```
    pub fn over_split(index: &DatasetIndex, split: Split, batch_size: usize) -> Result<Self> {
        Self::new(index.split_indices(split), batch_size)
    }

    /// Number of batches in all (`ceil(n / batch_size)`).
    pub fn num_batches(&self) -> usize {
        self.indices.len().div_ceil(self.batch_size)
    }
}

impl Iterator for SequentialSampler {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        if self.position >= self.indices.len() {
            return None;
        }
        let end = (self.position + self.batch_size).min(self.indices.len());
        let batch = self.indices[self.position..end].to_vec();
        self.position = end;
        Some(batch)
    }
}
