//! `fetch-data wordnet` end to end: from a local folder (`--from`, the shipped manifest) and by
//! downloading the release tarball from a real HTTP server on 127.0.0.1.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::wordnet_fixture::{
    DATA_ADJ, DATA_ADV, DATA_NOUN, DATA_VERB, EXPECTED, expected, lex_number, read_jsonl,
    write_dict,
};
use common::{Mode, TarEntry, TestServer, digests, manifest, options, tar_gz_of, tree};
use xtask::fetch::convert::ConvertOptions;
use xtask::fetch::{FetchError, Manifest, Outcome, Progress, install};

fn shipped() -> Manifest {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets/wordnet.toml");
    Manifest::load(&path).unwrap()
}

fn lines(folder: &Path) -> usize {
    read_jsonl(&folder.join("data.jsonl")).len()
}

#[test]
fn from_a_local_folder_once_then_again_for_another_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("usr-share-wordnet");
    write_dict(&source);
    let root = tmp.path().join("data");
    let mut opts = options(&root);
    opts.from = Some(source.clone());
    let outcome = install(&shipped(), &opts, &Progress::hidden()).unwrap();
    let folder = root.join("wordnet");
    let Outcome::Installed { summary, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    // 9 classes: round(0.5 · 9) = 5 train.
    assert_eq!(summary.splits[0], "train: 7 texts, 5 classes");
    assert_eq!(summary.splits[1], "test: 6 texts, 4 classes");
    assert_eq!(
        read_jsonl(&folder.join("data.jsonl")),
        expected(str::to_string)
    );
    let marker = std::fs::read_to_string(folder.join(".xbn-fetch.toml")).unwrap();
    assert!(marker.contains("source = \"folder\""), "{marker}");
    assert_eq!(
        tree(&root),
        [
            PathBuf::from("wordnet"),
            PathBuf::from("wordnet/.xbn-fetch.toml"),
            PathBuf::from("wordnet/LICENSE"),
            PathBuf::from("wordnet/data.jsonl"),
        ]
    );

    let again = install(&shipped(), &opts, &Progress::hidden()).unwrap();
    assert_eq!(again, Outcome::AlreadyInstalled(folder.clone()));

    // Another --max-per-class changes the data: redone, not "already installed".
    opts.convert = ConvertOptions {
        max_per_class: Some(2),
    };
    let capped = install(&shipped(), &opts, &Progress::hidden()).unwrap();
    assert!(matches!(capped, Outcome::Installed { .. }), "{capped:?}");
    assert_eq!(lines(&folder), EXPECTED.len() - 1);
    let marker = std::fs::read_to_string(folder.join(".xbn-fetch.toml")).unwrap();
    assert!(marker.contains("max_per_class = 2"), "{marker}");
}

#[test]
fn a_failed_conversion_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("wordnet");
    write_dict(&source);
    std::fs::write(source.join("data.verb"), "00002724 29 v broken\n").unwrap();
    let root = tmp.path().join("data");
    let mut opts = options(&root);
    opts.from = Some(source.clone());
    let err = install(&shipped(), &opts, &Progress::hidden()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:1:", source.join("data.verb").display())),
        "{err}"
    );
    assert!(tree(&root).is_empty(), "{:?}", tree(&root));

    // --from a missing folder, and --from for a dataset that is not converted.
    opts.from = Some(tmp.path().join("nowhere"));
    let err = install(&shipped(), &opts, &Progress::hidden()).unwrap_err();
    assert!(matches!(err, FetchError::Usage(_)), "{err:?}");
    let sop =
        Manifest::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets/sop.toml"))
            .unwrap();
    opts.from = Some(source);
    let err = install(&sop, &opts, &Progress::hidden()).unwrap_err();
    assert!(matches!(err, FetchError::Usage(_)), "{err:?}");
}

#[test]
fn the_release_tarball_is_downloaded_verified_and_converted() {
    let lexnames: String = (0..45).map(|i| format!("{i:02}\tlex{i:02}\t1\n")).collect();
    let tgz = tar_gz_of(&[
        TarEntry::Dir("WordNet-3.0/"),
        TarEntry::File("WordNet-3.0/LICENSE", b"WordNet Release 3.0 licence"),
        TarEntry::File("WordNet-3.0/src/wn.c", b"int main(void) { return 0; }"),
        TarEntry::Dir("WordNet-3.0/dict/"),
        TarEntry::File("WordNet-3.0/dict/lexnames", lexnames.as_bytes()),
        TarEntry::File("WordNet-3.0/dict/data.noun", DATA_NOUN.as_bytes()),
        TarEntry::File("WordNet-3.0/dict/data.verb", DATA_VERB.as_bytes()),
        TarEntry::File("WordNet-3.0/dict/data.adj", DATA_ADJ.as_bytes()),
        TarEntry::File("WordNet-3.0/dict/data.adv", DATA_ADV.as_bytes()),
    ]);
    let (sha, _) = digests(&tgz);
    let server = TestServer::start(
        HashMap::from([("WordNet-3.0.tar.gz".to_string(), tgz)]),
        Mode::Honour,
    );
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(
        tmp.path(),
        &format!(
            r#"
name = "wordnet"
title = "WordNet"
homepage = "https://wordnet.princeton.edu/"
terms = "test"
folder = "wordnet"
kind = "jsonl"
proof = ["data.jsonl", "LICENSE"]
convert = "wordnet"
[[archives]]
file = "WordNet-3.0.tar.gz"
format = "tar.gz"
sha256 = "{sha}"
urls = ["{}/WordNet-3.0.tar.gz"]
strip_components = 1
"#,
            server.base
        ),
    );
    let root = tmp.path().join("data");
    let outcome = install(&m, &options(&root), &Progress::hidden()).unwrap();
    assert!(matches!(outcome, Outcome::Installed { .. }), "{outcome:?}");
    let folder = root.join("wordnet");
    assert_eq!(
        read_jsonl(&folder.join("data.jsonl")),
        expected(|l| format!("lex{:02}", lex_number(l)))
    );
    // The unpacked release (.source/) and the download are gone; the marker has the checksum.
    assert_eq!(
        tree(&root),
        [
            PathBuf::from("wordnet"),
            PathBuf::from("wordnet/.xbn-fetch.toml"),
            PathBuf::from("wordnet/LICENSE"),
            PathBuf::from("wordnet/data.jsonl"),
        ]
    );
    let marker = std::fs::read_to_string(folder.join(".xbn-fetch.toml")).unwrap();
    assert!(marker.contains(&sha), "{marker}");
    assert_eq!(server.requests().len(), 1);
    let again = install(&m, &options(&root), &Progress::hidden()).unwrap();
    assert_eq!(again, Outcome::AlreadyInstalled(folder));
    assert_eq!(server.requests().len(), 1);
}
