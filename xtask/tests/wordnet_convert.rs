//! The `wordnet` conversion on real lines of WordNet 3.0's `data.*` files: definitions, labels,
//! ids, `lexnames`, `--max-per-class`, and every malformed input named by file and line.

mod common;

use std::path::Path;

use common::wordnet_fixture::{DATA_NOUN, EXPECTED, expected, lex_number, read_jsonl, write_dict};
use xtask::fetch::FetchError;
use xtask::fetch::Progress;
use xtask::fetch::convert::{Conversion, ConvertOptions, convert};

fn run(source: &Path, target: &Path, max_per_class: Option<usize>) -> xtask::fetch::Result<()> {
    let options = ConvertOptions { max_per_class };
    convert(
        Conversion::Wordnet,
        source,
        target,
        &options,
        &Progress::hidden(),
    )
    .map(|_| ())
}

#[test]
fn a_flat_dict_folder_becomes_one_line_per_synset() {
    let tmp = tempfile::tempdir().unwrap();
    let (source, target) = (tmp.path().join("wordnet"), tmp.path().join("out"));
    write_dict(&source);
    std::fs::create_dir(&target).unwrap();
    let converted = convert(
        Conversion::Wordnet,
        &source,
        &target,
        &ConvertOptions::default(),
        &Progress::hidden(),
    )
    .unwrap();
    assert_eq!(
        read_jsonl(&target.join("data.jsonl")),
        expected(str::to_string)
    );
    assert_eq!(converted.samples, EXPECTED.len());
    assert_eq!(converted.per_class.len(), 9);
    assert_eq!(converted.per_class["noun.animal"], 3);
    // The licence header, without its line numbers.
    let licence = std::fs::read_to_string(target.join("LICENSE")).unwrap();
    assert_eq!(
        licence,
        "This software and database is being provided to you, the LICENSEE, by\n\
         Princeton University under the following license.  By obtaining, using\n"
    );
}

#[test]
fn a_lexnames_file_in_dict_names_the_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let dict = tmp.path().join("WordNet-3.0/dict");
    write_dict(&dict);
    let lexnames: String = (0..45)
        .map(|i| format!("{i:02}\tfile{i:02}\t1\n"))
        .collect();
    std::fs::write(dict.join("lexnames"), lexnames).unwrap();
    run(&tmp.path().join("WordNet-3.0"), tmp.path(), None).unwrap();
    assert_eq!(
        read_jsonl(&tmp.path().join("data.jsonl")),
        expected(|l| format!("file{:02}", lex_number(l)))
    );
}

#[test]
fn max_per_class_keeps_the_first_in_file_order() {
    let tmp = tempfile::tempdir().unwrap();
    write_dict(tmp.path());
    let target = tmp.path().join("out");
    std::fs::create_dir(&target).unwrap();
    run(tmp.path(), &target, Some(1)).unwrap();
    let kept: Vec<String> = read_jsonl(&target.join("data.jsonl"))
        .into_iter()
        .map(|(_, _, id)| id)
        .collect();
    assert_eq!(
        kept,
        [
            "00001930-n",
            "00035697-n",
            "01314026-n",
            "00002724-v",
            "00113853-v",
            "00002843-a",
            "02599410-a",
            "03147544-a",
            "00001740-r",
        ]
    );
    let err = run(tmp.path(), &target, Some(0)).unwrap_err();
    assert!(matches!(err, FetchError::Usage(_)), "{err:?}");
}

/// Converting `data.noun` = `noun` must fail at `data.noun:line` mentioning `needle`.
fn noun_error(noun: &[u8], line: usize, needle: &str) {
    let tmp = tempfile::tempdir().unwrap();
    write_dict(tmp.path());
    let path = tmp.path().join("data.noun");
    std::fs::write(&path, noun).unwrap();
    let err = run(tmp.path(), tmp.path(), None).unwrap_err();
    let message = err.to_string();
    let at = format!("{}:{line}: ", path.display());
    assert!(message.starts_with(&at), "{message} should start with {at}");
    assert!(
        message.contains(needle),
        "{message} should mention {needle:?}"
    );
}

#[test]
fn malformed_lines_are_named() {
    let good = DATA_NOUN.to_string();
    let with = |line: &str| format!("{good}{line}\n").into_bytes();
    // The fixture's data.noun has 7 lines: an appended one is line 8.
    noun_error(&with("00001234 05 n 01 cat 0 000 no gloss bar"), 8, "` | `");
    noun_error(&with("00001234 45 n 01 cat 0 000 | a cat"), 8, "`45`");
    noun_error(&with("00001234 5 n 01 cat 0 000 | a cat"), 8, "`5`");
    noun_error(&with("1234 05 n 01 cat 0 000 | a cat"), 8, "8 digits");
    noun_error(&with("00001234 05 x 01 cat 0 000 | a cat"), 8, "`x`");
    noun_error(&with("00001234 | a cat"), 8, "lex_filenum");
    let mut bad = good.into_bytes();
    bad.extend(b"00001234 05 n 01 caf\xe9 0 000 | a cat\n");
    noun_error(&bad, 8, "invalid UTF-8");
}

#[test]
fn missing_files_and_bad_lexnames_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run(tmp.path(), tmp.path(), None).unwrap_err();
    assert!(
        err.to_string().contains(&tmp.path().display().to_string())
            && err.to_string().contains("data.noun"),
        "{err}"
    );
    write_dict(tmp.path());
    std::fs::remove_file(tmp.path().join("data.adv")).unwrap();
    let err = run(tmp.path(), tmp.path(), None).unwrap_err();
    assert!(matches!(err, FetchError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("data.adv"), "{err}");

    write_dict(tmp.path());
    std::fs::write(
        tmp.path().join("lexnames"),
        "00\tadj.all\t3\n02\tadv.all\t4\n",
    )
    .unwrap();
    let err = run(tmp.path(), tmp.path(), None).unwrap_err();
    let lexnames = tmp.path().join("lexnames");
    assert!(
        err.to_string().starts_with(&format!(
            "{}:2: expected file number 01",
            lexnames.display()
        )),
        "{err}"
    );
}
