//! `fetch-data` end to end against a real HTTP server on 127.0.0.1: good zip and tar.gz
//! archives, idempotency and `--force`, and a wrong checksum.

mod common;

use std::collections::HashMap;

use common::{
    Mode, TarEntry, TestServer, digests, manifest, options, payload, tar_gz_of, tree, zip_manifest,
    zip_of,
};
use xtask::fetch::{FetchError, Outcome, Progress, install};

#[test]
fn good_zip_installs_once_and_force_redoes_it() {
    let big = payload(300_000);
    let zip = zip_of(&[
        ("Demo/", b""),
        ("Demo/a.txt", b"hello"),
        ("Demo/sub/b.bin", &big),
    ]);
    let (sha, md5) = digests(&zip);
    let server = TestServer::start(HashMap::from([("demo.zip".to_string(), zip)]), Mode::Honour);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let m = zip_manifest(
        tmp.path(),
        &[format!("{}/demo.zip", server.base)],
        &sha,
        &md5,
    );

    let outcome = install(&m, &options(&root), &Progress::hidden()).unwrap();
    let folder = root.join("Demo");
    assert!(matches!(outcome, Outcome::Installed { .. }), "{outcome:?}");
    assert_eq!(std::fs::read(folder.join("a.txt")).unwrap(), b"hello");
    assert_eq!(std::fs::read(folder.join("sub/b.bin")).unwrap(), big);
    let marker = std::fs::read_to_string(folder.join(".xbn-fetch.toml")).unwrap();
    assert!(marker.contains(&sha) && marker.contains(&md5), "{marker}");
    // Only the dataset folder is left: no .partial, no .downloads.
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        1,
        "{:?}",
        tree(&root)
    );

    // Idempotent: nothing is requested again.
    let again = install(&m, &options(&root), &Progress::hidden()).unwrap();
    assert_eq!(again, Outcome::AlreadyInstalled(folder.clone()));
    assert_eq!(server.requests().len(), 1);

    // --force redoes it (and replaces a file the user broke).
    std::fs::write(folder.join("a.txt"), b"changed").unwrap();
    let forced = install(
        &m,
        &{
            let mut o = options(&root);
            o.force = true;
            o
        },
        &Progress::hidden(),
    )
    .unwrap();
    assert!(matches!(forced, Outcome::Installed { .. }));
    assert_eq!(std::fs::read(folder.join("a.txt")).unwrap(), b"hello");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn good_tar_gz_installs_into_a_subfolder() {
    let tgz = tar_gz_of(&[
        TarEntry::Dir("pkg/"),
        TarEntry::Dir("pkg/images/"),
        TarEntry::File("pkg/images/x.jpg", b"jpeg bytes"),
        TarEntry::File("pkg/list.txt", b"1 x.jpg\n"),
        TarEntry::Symlink("pkg/images/alias.jpg", "x.jpg"),
        TarEntry::File("stray.txt", b"dropped by strip_components"),
    ]);
    let (sha, md5) = digests(&tgz);
    let server = TestServer::start(HashMap::from([("d.tgz".to_string(), tgz)]), Mode::Honour);
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(
        tmp.path(),
        &format!(
            r#"
name = "tgz"
title = "T"
homepage = "https://example.org"
terms = "test"
folder = "T"
proof = ["data/list.txt", "data/images/x.jpg"]
[[archives]]
file = "d.tgz"
format = "tar.gz"
sha256 = "{sha}"
md5 = "{md5}"
urls = ["{}/d.tgz"]
into = "data"
strip_components = 1
"#,
            server.base
        ),
    );
    let root = tmp.path().join("root");
    install(&m, &options(&root), &Progress::hidden()).unwrap();
    let data = root.join("T/data");
    assert_eq!(
        std::fs::read(data.join("images/x.jpg")).unwrap(),
        b"jpeg bytes"
    );
    assert_eq!(
        std::fs::read(data.join("images/alias.jpg")).unwrap(),
        b"jpeg bytes"
    );
    assert_eq!(std::fs::read(data.join("list.txt")).unwrap(), b"1 x.jpg\n");
    assert!(!root.join("T/stray.txt").exists() && !data.join("stray.txt").exists());
}

#[test]
fn wrong_checksum_keeps_the_file_and_unpacks_nothing() {
    let zip = zip_of(&[("Demo/a.txt", b"hello"), ("Demo/sub/b.bin", b"b")]);
    let (_, md5) = digests(&zip);
    let wrong_sha = "0".repeat(64);
    let server = TestServer::start(
        HashMap::from([("demo.zip".to_string(), zip.clone())]),
        Mode::Honour,
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let m = zip_manifest(
        tmp.path(),
        &[format!("{}/demo.zip", server.base)],
        &wrong_sha,
        &md5,
    );
    let err = install(&m, &options(&root), &Progress::hidden()).unwrap_err();
    let FetchError::ChecksumMismatch {
        path,
        algorithm,
        expected,
        actual,
    } = &err
    else {
        panic!("expected a checksum mismatch, got {err}");
    };
    assert_eq!(*algorithm, "sha256");
    assert_eq!(expected, &wrong_sha);
    assert_eq!(actual, &digests(&zip).0);
    assert_eq!(
        std::fs::read(path).unwrap(),
        zip,
        "the downloaded file is kept for inspection"
    );
    assert!(err.to_string().contains("kept for inspection"), "{err}");
    assert!(!root.join("Demo").exists());
    assert!(!root.join(".Demo.partial").exists());
}
