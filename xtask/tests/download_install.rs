//! `fetch-data` end to end against a real HTTP server on 127.0.0.1: good archives, resume,
//! servers that ignore `Range`, wrong checksums, 404 and refused connections.

mod common;

use std::collections::HashMap;

use common::{
    Mode, TarEntry, TestServer, digests, manifest, options, refused_url, tar_gz_of, tree, zip_of,
};
use xtask::fetch::{FetchError, Outcome, Progress, install};

/// A payload big enough to be cut off midway (and not compressible to nothing).
fn payload(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn zip_manifest(
    dir: &std::path::Path,
    urls: &[String],
    sha256: &str,
    md5: &str,
) -> xtask::fetch::Manifest {
    let urls = urls
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    manifest(
        dir,
        &format!(
            r#"
name = "demo"
title = "Demo"
homepage = "https://example.org"
terms = "test"
folder = "Demo"
proof = ["a.txt", "sub/b.bin"]
[[archives]]
file = "demo.zip"
format = "zip"
sha256 = "{sha256}"
md5 = "{md5}"
urls = [{urls}]
strip_components = 1
"#
        ),
    )
}

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
fn download_cut_off_midway_is_resumed_with_a_range_request() {
    let zip = zip_of(&[
        ("Demo/a.txt", b"hello"),
        ("Demo/sub/b.bin", &payload(400_000)),
    ]);
    let (sha, md5) = digests(&zip);
    let cut = zip.len() / 2;
    let server = TestServer::start(
        HashMap::from([("demo.zip".to_string(), zip.clone())]),
        Mode::CutFirstAfter(cut),
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let m = zip_manifest(
        tmp.path(),
        &[format!("{}/demo.zip", server.base)],
        &sha,
        &md5,
    );

    // One attempt only: the cut-off download fails and its part file stays.
    let mut once = options(&root);
    once.download.attempts_per_url = 1;
    let err = install(&m, &once, &Progress::hidden()).unwrap_err();
    assert!(matches!(err, FetchError::AllSourcesFailed { .. }), "{err}");
    let part = root.join(".downloads/demo.zip.part");
    let have = std::fs::metadata(&part).unwrap().len() as usize;
    assert!(
        have > 0 && have <= cut,
        "part file has {have} bytes, cut at {cut}"
    );
    assert_eq!(std::fs::read(&part).unwrap(), zip[..have]);
    assert!(!root.join("Demo").exists());

    // The next run asks for the rest and gets a correct file.
    install(&m, &options(&root), &Progress::hidden()).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].range, None);
    assert_eq!(
        requests[1].range.as_deref(),
        Some(format!("bytes={have}-").as_str())
    );
    assert_eq!(
        std::fs::read(root.join("Demo/sub/b.bin")).unwrap(),
        payload(400_000)
    );
}

#[test]
fn retries_within_one_run_resume_automatically() {
    let zip = zip_of(&[
        ("Demo/a.txt", b"hello"),
        ("Demo/sub/b.bin", &payload(200_000)),
    ]);
    let (sha, md5) = digests(&zip);
    let server = TestServer::start(
        HashMap::from([("demo.zip".to_string(), zip.clone())]),
        Mode::CutFirstAfter(zip.len() / 3),
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let m = zip_manifest(
        tmp.path(),
        &[format!("{}/demo.zip", server.base)],
        &sha,
        &md5,
    );
    install(&m, &options(&root), &Progress::hidden()).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1]
            .range
            .as_deref()
            .is_some_and(|r| r.starts_with("bytes=") && r != "bytes=0-")
    );
    assert_eq!(std::fs::read(root.join("Demo/a.txt")).unwrap(), b"hello");
}

#[test]
fn server_ignoring_range_restarts_cleanly() {
    let zip = zip_of(&[
        ("Demo/a.txt", b"hello"),
        ("Demo/sub/b.bin", &payload(100_000)),
    ]);
    let (sha, md5) = digests(&zip);
    let server = TestServer::start(
        HashMap::from([("demo.zip".to_string(), zip.clone())]),
        Mode::IgnoreRange,
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    // A stale part file whose bytes are wrong: appending to it would corrupt the archive.
    std::fs::create_dir_all(root.join(".downloads")).unwrap();
    std::fs::write(
        root.join(".downloads/demo.zip.part"),
        vec![0xAB; zip.len() / 2],
    )
    .unwrap();
    let m = zip_manifest(
        tmp.path(),
        &[format!("{}/demo.zip", server.base)],
        &sha,
        &md5,
    );
    install(&m, &options(&root), &Progress::hidden()).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].range.as_deref(),
        Some(format!("bytes={}-", zip.len() / 2).as_str())
    );
    assert_eq!(
        std::fs::read(root.join("Demo/sub/b.bin")).unwrap(),
        payload(100_000)
    );
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

#[test]
fn not_found_and_refused_connections_are_clear_errors() {
    let server = TestServer::start(HashMap::new(), Mode::NotFound);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let refused = refused_url();
    let m = zip_manifest(
        tmp.path(),
        &[format!("{}/demo.zip", server.base), refused.clone()],
        &"1".repeat(64),
        &"2".repeat(32),
    );
    let err = install(&m, &options(&root), &Progress::hidden()).unwrap_err();
    let FetchError::AllSourcesFailed { file, attempts } = &err else {
        panic!("expected every source to fail, got {err}");
    };
    assert_eq!(file, "demo.zip");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts[0].contains("HTTP 404") && attempts[0].contains("/demo.zip"),
        "{}",
        attempts[0]
    );
    assert!(
        attempts[1].contains(&refused) && attempts[1].to_lowercase().contains("refused"),
        "{}",
        attempts[1]
    );
    assert_eq!(server.requests().len(), 1, "a 404 is not retried");
    assert!(!root.join("Demo").exists());
}

#[test]
fn mirror_is_tried_first_and_non_http_urls_are_refused() {
    let zip = zip_of(&[("Demo/a.txt", b"hello"), ("Demo/sub/b.bin", b"b")]);
    let (sha, md5) = digests(&zip);
    let server = TestServer::start(HashMap::from([("demo.zip".to_string(), zip)]), Mode::Honour);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let m = zip_manifest(tmp.path(), &[refused_url()], &sha, &md5);
    let mut o = options(&root);
    o.mirror = Some(format!("{}/", server.base));
    install(&m, &o, &Progress::hidden()).unwrap();
    assert_eq!(server.requests()[0].url, "/demo.zip");

    let mut ftp = options(&tmp.path().join("other"));
    ftp.mirror = Some("ftp://example.org/pub".into());
    ftp.download.attempts_per_url = 1;
    let err = install(
        &zip_manifest(tmp.path(), &[], &sha, &md5),
        &ftp,
        &Progress::hidden(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("only http:// and https://"),
        "{err}"
    );
    let text = std::fs::read_to_string(tmp.path().join("test.toml"))
        .unwrap()
        .replace("urls = [", "urls = [\"ftp://h/x.zip\"");
    let parsed = xtask::fetch::Manifest::parse(&text, std::path::Path::new("m.toml"));
    assert!(
        matches!(parsed, Err(FetchError::Manifest { .. })),
        "{parsed:?}"
    );
}
