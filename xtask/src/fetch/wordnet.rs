//! WordNet 3.0's database format (`wndb(5WN)`, `lexnames(5WN)`): the lexicographer file names,
//! and the synset lines of `data.noun`, `data.verb`, `data.adj`, `data.adv`:
//!
//! ```text
//! synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id…] p_cnt [ptr…] [frames…] | gloss
//! ```
//!
//! Lines that start with a space are the licence header, not synsets.

use std::path::Path;

use super::error::{FetchError, IoContext, Result};

/// The data files, in the order they are read.
pub const DATA_FILES: [&str; 4] = ["data.noun", "data.verb", "data.adj", "data.adv"];

/// The lexicographer files of WordNet 3.0 by number, as `lexnames(5WN)` lists them. Used when
/// the dictionary folder has no `lexnames` file (Debian's `wordnet-base` ships none).
pub const LEXNAMES_3_0: [&str; 45] = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
];

/// One synset: its id, lexicographer file name and definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synset {
    /// `offset-pos`, e.g. `02084071-n` (the usual WordNet 3.0 synset id).
    pub id: String,
    /// The lexicographer file name, e.g. `noun.animal`.
    pub lexname: String,
    /// The gloss's definition: the text before its first `; "` (the first example), trimmed.
    pub definition: String,
}

/// A format error at `path:line`.
pub fn format_error(path: &Path, line: usize, message: impl Into<String>) -> FetchError {
    FetchError::SourceFormat {
        path: path.to_path_buf(),
        line: Some(line),
        message: message.into(),
    }
}

/// Reads a whole text file as UTF-8, naming the line of the first invalid byte.
pub fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).at(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        format_error(path, line, format!("invalid UTF-8 at byte {valid}"))
    })
}

/// The lexicographer file names by number: from `dict/lexnames` (`NN<tab>name<tab>category`
/// per line) when it exists, else [`LEXNAMES_3_0`].
pub fn lexnames(dict: &Path) -> Result<Vec<String>> {
    let path = dict.join("lexnames");
    if !path.is_file() {
        return Ok(LEXNAMES_3_0.iter().map(|s| s.to_string()).collect());
    }
    let mut names = Vec::new();
    for (i, line) in read_utf8(&path)?.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let [number, name, _category] = fields[..] else {
            return Err(format_error(
                &path,
                i + 1,
                format!("expected `number name category`, found `{line}`"),
            ));
        };
        if number.parse::<usize>().ok() != Some(names.len()) {
            return Err(format_error(
                &path,
                i + 1,
                format!("expected file number {:02}, found `{number}`", names.len()),
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// The definition part of a gloss: everything before the first `; "`, trimmed.
pub fn definition(gloss: &str) -> &str {
    gloss.split("; \"").next().unwrap_or_default().trim()
}

/// Parses line `line_no` of the data file `path`: `None` for a licence header line (starting
/// with a space) or a blank one.
pub fn parse_line(
    path: &Path,
    line_no: usize,
    line: &str,
    lexnames: &[String],
) -> Result<Option<Synset>> {
    if line.starts_with(' ') || line.trim().is_empty() {
        return Ok(None);
    }
    let fail = |message: String| format_error(path, line_no, message);
    let Some((fields, gloss)) = line.split_once(" | ") else {
        return Err(fail("no gloss: ` | ` not found".into()));
    };
    let mut fields = fields.split_whitespace();
    let (Some(offset), Some(lex), Some(ss_type)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(fail(
            "expected `offset lex_filenum ss_type …` before ` | `".into(),
        ));
    };
    if offset.len() != 8 || !offset.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(format!("synset offset `{offset}` is not 8 digits")));
    }
    let lexname = lex
        .parse::<usize>()
        .ok()
        .filter(|_| lex.len() == 2)
        .and_then(|n| lexnames.get(n))
        .ok_or_else(|| {
            fail(format!(
                "lexicographer file number `{lex}` is not one of 00..{:02}",
                lexnames.len().saturating_sub(1)
            ))
        })?;
    if !["n", "v", "a", "s", "r"].contains(&ss_type) {
        return Err(fail(format!(
            "synset type `{ss_type}` is not one of n, v, a, s, r"
        )));
    }
    Ok(Some(Synset {
        id: format!("{offset}-{ss_type}"),
        lexname: lexname.clone(),
        definition: definition(gloss).to_string(),
    }))
}
