//! Hostile archives: every entry that could write outside the target folder is refused with an
//! error naming it, the partial folder is removed, and nothing appears outside the data root.

mod common;

use std::path::Path;

use common::{TarEntry, manifest, options, tar_gz_of, tree, zip_of};
use xtask::fetch::{FetchError, Progress, install};

/// Installs `archive` (a file the "user downloaded") and returns the error.
fn refuse(base: &Path, file: &str, format: &str, bytes: &[u8]) -> FetchError {
    let downloads = base.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let archive = downloads.join(file);
    std::fs::write(&archive, bytes).unwrap();
    let m = manifest(
        base,
        &format!(
            r#"
name = "evil"
title = "Evil"
homepage = "https://example.org"
terms = "test"
folder = "Evil"
proof = []
[[archives]]
file = "{file}"
format = "{format}"
"#
        ),
    );
    let root = base.join("a/b/root");
    let mut o = options(&root);
    o.archives = vec![archive];
    let err = install(&m, &o, &Progress::hidden()).unwrap_err();
    // Nothing left in the root, nothing written next to it or above it.
    assert_eq!(
        tree(&root),
        Vec::<std::path::PathBuf>::new(),
        "root must be empty after a refusal"
    );
    let mut outside = tree(base);
    outside.retain(|p| {
        !p.starts_with("a") && !p.starts_with("downloads") && p != Path::new("test.toml")
    });
    assert_eq!(
        outside,
        Vec::<std::path::PathBuf>::new(),
        "nothing may be written outside the root"
    );
    assert_eq!(
        tree(&base.join("a")),
        vec![
            Path::new("b").to_path_buf(),
            Path::new("b/root").to_path_buf()
        ]
    );
    err
}

fn assert_refused(err: &FetchError, entry: &str) {
    match err {
        FetchError::UnsafeEntry { entry: e, .. } => assert_eq!(e, entry, "{err}"),
        other => panic!("expected entry `{entry}` to be refused, got: {other}"),
    }
    assert!(
        err.to_string().contains(entry),
        "the message names the entry: {err}"
    );
}

#[test]
fn zip_slip_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_of(&[("ok.txt", b"fine"), ("../../../evil.txt", b"pwned")]);
    let err = refuse(tmp.path(), "slip.zip", "zip", &zip);
    assert_refused(&err, "../../../evil.txt");
}

#[test]
fn zip_absolute_path_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("abs-evil.txt");
    let name = target.to_str().unwrap().to_string();
    let zip = zip_of(&[(name.as_str(), b"pwned")]);
    let err = refuse(tmp.path(), "abs.zip", "zip", &zip);
    assert_refused(&err, &name);
    assert!(!target.exists());
}

#[test]
fn tar_with_parent_entry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[
        TarEntry::File("d/ok.txt", b"fine"),
        TarEntry::File("d/../../../evil.txt", b"pwned"),
    ]);
    let err = refuse(tmp.path(), "dots.tgz", "tar.gz", &tgz);
    assert_refused(&err, "d/../../../evil.txt");
}

#[test]
fn tar_symlink_escaping_the_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[
        TarEntry::Dir("d/"),
        TarEntry::Symlink("d/escape", "../../../.."),
        TarEntry::File("d/escape/evil.txt", b"pwned"),
    ]);
    let err = refuse(tmp.path(), "link.tgz", "tar.gz", &tgz);
    assert_refused(&err, "d/escape");
}

#[test]
fn tar_absolute_symlink_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[TarEntry::Symlink("etc", "/etc")]);
    let err = refuse(tmp.path(), "abs-link.tgz", "tar.gz", &tgz);
    assert_refused(&err, "etc");
}

#[test]
fn writing_through_a_link_is_refused() {
    // `sub -> .` is inside, but `x -> sub/..` would climb out through it; and files are never
    // written through a link.
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[
        TarEntry::Symlink("sub", "."),
        TarEntry::Symlink("x", "sub/.."),
    ]);
    let err = refuse(tmp.path(), "chain.tgz", "tar.gz", &tgz);
    assert_refused(&err, "x");

    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[
        TarEntry::Dir("real/"),
        TarEntry::Symlink("alias", "real"),
        TarEntry::File("alias/f.txt", b"x"),
    ]);
    let err = refuse(tmp.path(), "through.tgz", "tar.gz", &tgz);
    assert_refused(&err, "alias/f.txt");
}

#[test]
fn tar_hardlink_outside_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[TarEntry::Hardlink("passwd", "../../../../etc/passwd")]);
    let err = refuse(tmp.path(), "hard.tgz", "tar.gz", &tgz);
    assert_refused(&err, "passwd");
}

#[test]
fn zip_symlink_escaping_the_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default();
        zip.add_symlink("d/up", "../../../../outside", options)
            .unwrap();
        zip.finish().unwrap();
    }
    let err = refuse(tmp.path(), "link.zip", "zip", &out.into_inner());
    assert_refused(&err, "d/up");
}
