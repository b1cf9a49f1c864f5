//! Building blocks shared by the readers: reading annotation files line by line, and an index
//! builder that assigns dense labels and records missing image files.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use crate::index::{BoundingBox, DatasetIndex, Item, ItemSource, Role, Split};
use crate::{DataError, Result};

/// An image file that an annotation lists but that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissingImage {
    /// The missing file.
    pub image: PathBuf,
    /// Where it was listed, as `file:line`, or the annotation file alone.
    pub listed_in: String,
}

/// What a reader produces: the index, and the image files it lists that do not exist (empty
/// unless the reader was asked to verify files).
#[derive(Debug, Clone)]
pub struct ReaderOutput {
    /// The dataset index.
    pub index: DatasetIndex,
    /// Listed image files that are missing on disk.
    pub missing: Vec<MissingImage>,
}

/// Reads a whole UTF-8 text file, naming it in the error (and, for invalid UTF-8, the line and
/// byte offset of the first bad byte).
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_text(bytes, path)
}

/// The bytes of the text file `path` as UTF-8, or a parse error naming the line and byte
/// offset of the first bad byte.
pub(crate) fn decode_text(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        parse_error(
            path,
            line,
            format!("invalid UTF-8 at byte {valid}; text files must be UTF-8"),
        )
    })
}

/// Reads a text file and returns its non-blank lines with their 1-based line numbers.
pub(crate) fn numbered_lines(path: &Path) -> Result<Vec<(usize, String)>> {
    Ok(numbered(&read_text(path)?))
}

/// The non-blank lines of the text file `origin`, given as bytes, with their 1-based line
/// numbers.
pub(crate) fn numbered_lines_of(bytes: &[u8], origin: &Path) -> Result<Vec<(usize, String)>> {
    Ok(numbered(&decode_text(bytes.to_vec(), origin)?))
}

/// The non-blank lines of `text`, trimmed, with their 1-based line numbers.
fn numbered(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .filter(|(_, l)| !l.is_empty())
        .collect()
}

/// A parse error at `path:line`.
pub(crate) fn parse_error(path: &Path, line: usize, message: impl Into<String>) -> DataError {
    DataError::Parse {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Splits a line into exactly `n` whitespace-separated fields (any run of spaces or tabs
/// separates), or names the line and what it expected.
pub(crate) fn fields<'a>(
    path: &Path,
    line_no: usize,
    line: &'a str,
    expected: &str,
) -> Result<Vec<&'a str>> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let n = expected.split_whitespace().count();
    if f.len() != n {
        return Err(parse_error(
            path,
            line_no,
            format!(
                "expected {n} fields `{expected}`, found {}: `{line}`",
                f.len()
            ),
        ));
    }
    Ok(f)
}

/// Parses an unsigned integer field, naming the field, file and line on failure.
pub(crate) fn parse_u64(path: &Path, line_no: usize, name: &str, value: &str) -> Result<u64> {
    value.parse::<u64>().map_err(|_| {
        parse_error(
            path,
            line_no,
            format!("{name} must be a non-negative integer, found `{value}`"),
        )
    })
}

struct Pending<K> {
    source: ItemSource,
    key: K,
    split: Split,
    role: Role,
}

/// Collects items keyed by a reader-specific class key and assigns dense labels on
/// [`finish`](IndexBuilder::finish): classes are numbered in the order `(split, key)`, so the
/// training classes get `0..n_train` and the test classes `n_train..n`.
pub(crate) struct IndexBuilder<K> {
    verify_files: bool,
    pending: Vec<Pending<K>>,
    missing: Vec<MissingImage>,
    first_split: BTreeMap<K, (Split, String)>,
}

impl<K: Ord + Clone + Debug> IndexBuilder<K> {
    /// A builder; with `verify_files`, every file pushed is checked for existence.
    pub fn new(verify_files: bool) -> Self {
        Self {
            verify_files,
            pending: Vec::new(),
            missing: Vec::new(),
            first_split: BTreeMap::new(),
        }
    }

    /// Adds an image file (optionally cropped). `listed_in` names where the file was listed;
    /// a class key met in both splits is an error naming both places.
    pub fn push_file(
        &mut self,
        path: PathBuf,
        crop: Option<BoundingBox>,
        key: K,
        split: Split,
        role: Role,
        listed_in: impl Fn() -> String,
    ) -> Result<()> {
        let repeated = self.missing.last().is_some_and(|m| m.image == path);
        if self.verify_files && !repeated && !path.is_file() {
            self.missing.push(MissingImage {
                image: path.clone(),
                listed_in: listed_in(),
            });
        }
        self.push(ItemSource::File { path, crop }, key, split, role, listed_in)
    }

    /// Adds an item with any source.
    pub fn push(
        &mut self,
        source: ItemSource,
        key: K,
        split: Split,
        role: Role,
        listed_in: impl Fn() -> String,
    ) -> Result<()> {
        match self.first_split.get(&key) {
            Some((s, first)) if *s != split => {
                return Err(DataError::Layout(format!(
                    "class {key:?} is in both the {s:?} split ({first}) and the {split:?} split \
                     ({}); the splits must be class-disjoint",
                    listed_in()
                )));
            }
            Some(_) => {}
            None => {
                self.first_split.insert(key.clone(), (split, listed_in()));
            }
        }
        self.pending.push(Pending {
            source,
            key,
            split,
            role,
        });
        Ok(())
    }

    /// The index with dense labels, in the order items were pushed.
    pub fn finish(self, name: &str) -> ReaderOutput {
        let mut classes: Vec<(Split, &K)> =
            self.first_split.iter().map(|(k, (s, _))| (*s, k)).collect();
        classes.sort();
        let labels: BTreeMap<&K, u32> = classes
            .iter()
            .enumerate()
            .map(|(i, (_, k))| (*k, i as u32))
            .collect();
        let items = self
            .pending
            .iter()
            .map(|p| Item {
                source: p.source.clone(),
                label: labels[&p.key],
                split: p.split,
                role: p.role,
            })
            .collect();
        ReaderOutput {
            index: DatasetIndex {
                name: name.to_string(),
                items,
            },
            missing: self.missing,
        }
    }
}
