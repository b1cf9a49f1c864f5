//! Flaky links against a real HTTP server on 127.0.0.1: a download cut off midway and
//! resumed with `Range`, a server that ignores `Range`, 404, refused connections, mirrors.

mod common;

use std::collections::HashMap;

use common::{Mode, TestServer, digests, options, payload, refused_url, zip_manifest, zip_of};
use xtask::fetch::{FetchError, Progress, install};

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
    let part = root.join(".downloads/demo.zip.part");
    assert!(
        matches!(&err, FetchError::AllSourcesFailed { partial: Some(p), .. } if *p == part),
        "{err}"
    );
    assert!(err.to_string().contains("run again to resume"), "{err}");
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
    let FetchError::AllSourcesFailed {
        file,
        attempts,
        partial,
    } = &err
    else {
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
    assert_eq!(partial, &None);
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
