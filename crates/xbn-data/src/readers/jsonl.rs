//! Texts in a JSON Lines file: `root` is the `.jsonl` file itself or a folder holding
//! `data.jsonl`. Every non-blank line is an object
//! `{"text": string, "label": string or integer, "split": "train" or "test"}` (`split` optional,
//! other fields ignored); the item's origin is `path:line`.
//!
//! Either every line has a `split` or none does. With splits, a label found in both is an error
//! (splits must be class-disjoint); without, the classes are split like the `folder` reader's:
//! the first `round(fraction · n)` sorted labels train
//! ([`LoadOptions::folder_train_fraction`]). Labels sort numerically when every label is an
//! integer, otherwise by their text (an integer label `3` and a string label `"3"` are then one
//! class). Dense labels are numbered training classes first, each split's labels in sorted order
//! (without splits, simply in sorted order). Items keep the file's order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::LoadOptions;
use super::class_split::{leave_one_out_role, split_by_fraction};
use super::common::{IndexBuilder, ReaderOutput, parse_error, read_text};
use super::min_classes::require_classes;
use crate::Result;
use crate::index::{ItemSource, Split};

/// The file read in a folder given as the root.
pub const JSONL_FILE_NAME: &str = "data.jsonl";

/// A label as written: an integer or a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LabelKey {
    Int(i128),
    Name(String),
}

impl LabelKey {
    fn into_name(self) -> LabelKey {
        match self {
            LabelKey::Int(n) => LabelKey::Name(n.to_string()),
            name => name,
        }
    }
}

/// One parsed line.
struct Record {
    line: usize,
    text: Arc<str>,
    label: LabelKey,
    split: Option<Split>,
}

/// The JSON type of `value`, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses line `line` of `path`.
fn parse_line(path: &Path, line: usize, content: &str) -> Result<Record> {
    let fail = |message: String| parse_error(path, line, message);
    let value: Value =
        serde_json::from_str(content).map_err(|e| fail(format!("invalid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(fail(format!(
            "expected a JSON object, found {}",
            kind(&value)
        )));
    };
    let text = match object.get("text") {
        None => return Err(fail("missing field `text`".into())),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(fail("`text` is empty".into()));
        }
        Some(Value::String(s)) => Arc::from(s.as_str()),
        Some(other) => {
            return Err(fail(format!(
                "`text` must be a string, found {}",
                kind(other)
            )));
        }
    };
    let label = match object.get("label") {
        None => return Err(fail("missing field `label`".into())),
        Some(Value::String(s)) if s.is_empty() => return Err(fail("`label` is empty".into())),
        Some(Value::String(s)) => LabelKey::Name(s.clone()),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => LabelKey::Int(i128::from(i)),
            (None, Some(u)) => LabelKey::Int(i128::from(u)),
            (None, None) => {
                return Err(fail(format!(
                    "`label` must be a string or an integer, found the number {n}"
                )));
            }
        },
        Some(other) => {
            return Err(fail(format!(
                "`label` must be a string or an integer, found {}",
                kind(other)
            )));
        }
    };
    let split = match object.get("split") {
        None => None,
        Some(Value::String(s)) if s == "train" => Some(Split::Train),
        Some(Value::String(s)) if s == "test" => Some(Split::Test),
        Some(other) => {
            return Err(fail(format!(
                "unknown split {other}; expected \"train\" or \"test\""
            )));
        }
    };
    Ok(Record {
        line,
        text,
        label,
        split,
    })
}

/// The file a root names: the root itself, or `root/data.jsonl` for a folder.
pub fn jsonl_path(root: &Path) -> PathBuf {
    if root.is_dir() {
        root.join(JSONL_FILE_NAME)
    } else {
        root.to_path_buf()
    }
}

/// Parses every non-blank line, checking that all or none have a split and that no label is in
/// both splits.
fn records(path: &Path) -> Result<Vec<Record>> {
    let text = read_text(path)?;
    let mut out: Vec<Record> = Vec::new();
    let mut first_split: BTreeMap<LabelKey, (Split, usize)> = BTreeMap::new();
    for (i, content) in text.lines().enumerate() {
        if content.trim().is_empty() {
            continue;
        }
        let record = parse_line(path, i + 1, content)?;
        let mixed = out
            .first()
            .filter(|first| first.split.is_some() != record.split.is_some());
        if let Some(first) = mixed {
            let (has, lacks) = if record.split.is_some() {
                ("has", "none")
            } else {
                ("has no", "one")
            };
            return Err(parse_error(
                path,
                record.line,
                format!(
                    "this line {has} `split` but line {} has {lacks}; either every line has a \
                     split or none",
                    first.line
                ),
            ));
        }
        if let Some(split) = record.split {
            match first_split.get(&record.label) {
                Some(&(s, line)) if s != split => {
                    return Err(parse_error(
                        path,
                        record.line,
                        format!(
                            "label {} is in the {split:?} split here but in the {s:?} split on \
                             line {line}; the splits must be class-disjoint",
                            label_text(&record.label)
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    first_split.insert(record.label.clone(), (split, record.line));
                }
            }
        }
        out.push(record);
    }
    Ok(out)
}

fn label_text(label: &LabelKey) -> String {
    match label {
        LabelKey::Int(n) => n.to_string(),
        LabelKey::Name(s) => format!("{s:?}"),
    }
}

/// Reads a JSON Lines text dataset from `root` (the file, or a folder with `data.jsonl`).
pub fn read(root: &Path, options: &LoadOptions) -> Result<ReaderOutput> {
    let path = jsonl_path(root);
    let mut records = records(&path)?;
    if !records.iter().all(|r| matches!(r.label, LabelKey::Int(_))) {
        for r in &mut records {
            r.label = std::mem::replace(&mut r.label, LabelKey::Int(0)).into_name();
        }
    }
    let class_split: BTreeMap<LabelKey, Split> =
        if records.first().is_some_and(|r| r.split.is_none()) {
            let classes: BTreeSet<LabelKey> = records.iter().map(|r| r.label.clone()).collect();
            split_by_fraction(classes.into_iter().collect(), options.folder_train_fraction)?
                .into_iter()
                .map(|(split, label)| (label, split))
                .collect()
        } else {
            BTreeMap::new()
        };
    let mut builder = IndexBuilder::new(false);
    for record in records {
        let split = match record.split {
            Some(split) => split,
            None => class_split
                .get(&record.label)
                .copied()
                .unwrap_or(Split::Train),
        };
        let origin = format!("{}:{}", path.display(), record.line);
        let listed_in = || origin.clone();
        let source = ItemSource::Text {
            text: record.text,
            origin: origin.clone(),
        };
        builder.push(
            source,
            record.label,
            split,
            leave_one_out_role(split),
            listed_in,
        )?;
    }
    let out = builder.finish("jsonl");
    require_classes(&path, &out.index, "non-blank lines")?;
    Ok(out)
}
