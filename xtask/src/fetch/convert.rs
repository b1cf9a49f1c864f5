//! Datasets built by converting their source files rather than used as unpacked: a manifest
//! with `convert = "…"` has its archives unpacked into `<partial>/.source/` (or takes the source
//! files from a local folder, `--from`), and the converter writes the dataset files beside it;
//! the source folder is then deleted.
//!
//! `wordnet`: WordNet 3.0's `data.{noun,verb,adj,adv}` become `data.jsonl` (xbn-data's `jsonl`
//! layout), one line per synset: `{"text": definition, "label": lexname, "synset": id}`, no
//! split; and the licence header of `data.noun` becomes `LICENSE`.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{FetchError, IoContext, Result};
use super::progress::Progress;
use super::wordnet::{DATA_FILES, lexnames, parse_line, read_utf8};

/// The sub-folder of the partial folder archives are unpacked into before a conversion.
pub const SOURCE_FOLDER: &str = ".source";

/// A conversion a manifest can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Conversion {
    /// WordNet 3.0 glosses to `data.jsonl`.
    #[serde(rename = "wordnet")]
    Wordnet,
}

/// Options of a conversion (`fetch-data` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvertOptions {
    /// Keep at most this many samples per class: the first ones in file order
    /// (`--max-per-class N`).
    pub max_per_class: Option<usize>,
}

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Samples written.
    pub samples: usize,
    /// Samples per class written.
    pub per_class: BTreeMap<String, usize>,
    /// Samples left out by `max_per_class`.
    pub capped: usize,
    /// Samples left out for an empty text.
    pub empty: usize,
}

/// One line of the WordNet `data.jsonl`.
#[derive(Serialize)]
struct Line<'a> {
    text: &'a str,
    label: &'a str,
    synset: &'a str,
}

/// The folder holding `data.noun`: `source` itself or `source/dict`.
pub fn wordnet_dict(source: &Path) -> Result<PathBuf> {
    [source.to_path_buf(), source.join("dict")]
        .into_iter()
        .find(|d| d.join(DATA_FILES[0]).is_file())
        .ok_or_else(|| FetchError::SourceFormat {
            path: source.to_path_buf(),
            line: None,
            message: format!(
                "no WordNet {} here or in dict/ (expected WordNet 3.0's database files)",
                DATA_FILES[0]
            ),
        })
}

/// Runs `conversion` on the source folder `source`, writing into `target`.
pub fn convert(
    conversion: Conversion,
    source: &Path,
    target: &Path,
    options: &ConvertOptions,
    progress: &Progress,
) -> Result<Converted> {
    if options.max_per_class == Some(0) {
        return Err(FetchError::Usage(
            "--max-per-class must be at least 1".into(),
        ));
    }
    match conversion {
        Conversion::Wordnet => convert_wordnet(source, target, options, progress),
    }
}

/// WordNet's data files to `target/data.jsonl` and `target/LICENSE`.
fn convert_wordnet(
    source: &Path,
    target: &Path,
    options: &ConvertOptions,
    progress: &Progress,
) -> Result<Converted> {
    let dict = wordnet_dict(source)?;
    let names = lexnames(&dict)?;
    let out_path = target.join("data.jsonl");
    let file = std::fs::File::create(&out_path).at(&out_path)?;
    let mut out = BufWriter::new(file);
    let mut done = Converted {
        samples: 0,
        per_class: BTreeMap::new(),
        capped: 0,
        empty: 0,
    };
    let mut licence = String::new();
    for name in DATA_FILES {
        let path = dict.join(name);
        progress.say(&format!("converting {}", path.display()));
        let text = read_utf8(&path)?;
        for (i, line) in text.lines().enumerate() {
            if name == DATA_FILES[0] && line.starts_with("  ") {
                licence.push_str(licence_text(line));
                licence.push('\n');
            }
            let Some(synset) = parse_line(&path, i + 1, line, &names)? else {
                continue;
            };
            if synset.definition.is_empty() {
                done.empty += 1;
                continue;
            }
            let count = done.per_class.entry(synset.lexname.clone()).or_insert(0);
            if options.max_per_class.is_some_and(|max| *count >= max) {
                done.capped += 1;
                continue;
            }
            *count += 1;
            done.samples += 1;
            let json = serde_json::to_string(&Line {
                text: &synset.definition,
                label: &synset.lexname,
                synset: &synset.id,
            })
            .map_err(|e| FetchError::SourceFormat {
                path: path.clone(),
                line: Some(i + 1),
                message: e.to_string(),
            })?;
            writeln!(out, "{json}").at(&out_path)?;
        }
    }
    out.flush().at(&out_path)?;
    let licence_path = target.join("LICENSE");
    std::fs::write(&licence_path, licence).at(&licence_path)?;
    progress.say(&format!(
        "  {} synsets in {} classes written to data.jsonl ({} left out by --max-per-class, {} \
         without a definition)",
        done.samples,
        done.per_class.len(),
        done.capped,
        done.empty
    ));
    Ok(done)
}

/// A licence header line without its leading line number: `  12 text  ` → `text`.
fn licence_text(line: &str) -> &str {
    let rest = line.trim_start();
    rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim()
}
