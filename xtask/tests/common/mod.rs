//! Test helpers: a real HTTP server on 127.0.0.1 (tiny_http, in a thread) and fixture archives
//! built with the same crates the code under test reads them with.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};
use xtask::fetch::download::DownloadOptions;
use xtask::fetch::{InstallOptions, Manifest};

pub mod wordnet_fixture;

/// How the test server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serves files, honouring `Range: bytes=N-` with 206.
    Honour,
    /// Serves files, always 200 with the whole body (ignores `Range`).
    IgnoreRange,
    /// The first request announces the full length but the body breaks after this many bytes;
    /// later requests are served like `Honour`.
    CutFirstAfter(usize),
    /// Every request gets 404.
    NotFound,
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The path asked for.
    pub url: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
}

/// A running server; stopped on drop.
pub struct TestServer {
    server: Arc<tiny_http::Server>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Every request seen, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    /// Starts a server for `files` (name → bytes) answering in `mode`.
    pub fn start(files: HashMap<String, Vec<u8>>, mode: Mode) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (srv, log) = (Arc::clone(&server), Arc::clone(&seen));
        let count = AtomicUsize::new(0);
        std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                let range = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Range"))
                    .map(|h| h.value.as_str().to_string());
                let url = request.url().to_string();
                log.lock().unwrap().push(Seen {
                    url: url.clone(),
                    range: range.clone(),
                });
                let nth = count.fetch_add(1, Ordering::SeqCst);
                let data = files.get(url.trim_start_matches('/')).cloned();
                let _ = respond(request, data, range, mode, nth);
            }
        });
        Self {
            server,
            base: format!("http://127.0.0.1:{port}"),
            seen,
        }
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// A reader that fails after `limit` bytes, to cut a response off midway.
struct Breaking {
    data: std::io::Cursor<Vec<u8>>,
    limit: usize,
}

impl Read for Breaking {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.data.position() as usize;
        if pos >= self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut off",
            ));
        }
        let n = buf.len().min(self.limit - pos);
        self.data.read(&mut buf[..n])
    }
}

fn respond(
    request: tiny_http::Request,
    data: Option<Vec<u8>>,
    range: Option<String>,
    mode: Mode,
    nth: usize,
) -> std::io::Result<()> {
    let header =
        |k: &str, v: &str| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap();
    let Some(data) = data.filter(|_| mode != Mode::NotFound) else {
        return request
            .respond(tiny_http::Response::from_string("not found").with_status_code(404));
    };
    let len = data.len();
    if let Mode::CutFirstAfter(limit) = mode
        && nth == 0
    {
        let reader = Breaking {
            data: std::io::Cursor::new(data),
            limit,
        };
        return request.respond(tiny_http::Response::new(
            200.into(),
            vec![],
            reader,
            Some(len),
            None,
        ));
    }
    let start = range.filter(|_| mode != Mode::IgnoreRange).and_then(|r| {
        r.strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse::<usize>()
            .ok()
    });
    match start {
        Some(start) if start >= len => request.respond(
            tiny_http::Response::empty(416)
                .with_header(header("Content-Range", &format!("bytes */{len}"))),
        ),
        Some(start) => request.respond(
            tiny_http::Response::from_data(data[start..].to_vec())
                .with_status_code(206)
                .with_header(header(
                    "Content-Range",
                    &format!("bytes {start}-{}/{len}", len - 1),
                )),
        ),
        None => request.respond(tiny_http::Response::from_data(data)),
    }
}

/// A `127.0.0.1` URL on which nothing listens (connection refused).
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/x.zip")
}

/// Lower-case hex SHA-256 and MD5 of `data`.
pub fn digests(data: &[u8]) -> (String, String) {
    (
        hex::encode(Sha256::digest(data)),
        hex::encode(Md5::digest(data)),
    )
}

/// A zip of `(name, contents)` entries (a name ending in `/` is a folder).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default();
        for (name, data) in entries {
            if name.ends_with('/') {
                zip.add_directory(*name, options).unwrap();
            } else {
                zip.start_file(*name, options).unwrap();
                zip.write_all(data).unwrap();
            }
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

/// One tar entry to build, names written raw (no checks), so hostile archives can be made.
pub enum TarEntry<'a> {
    /// A regular file.
    File(&'a str, &'a [u8]),
    /// A folder.
    Dir(&'a str),
    /// A symbolic link `name -> target`.
    Symlink(&'a str, &'a str),
    /// A hard link `name -> target`.
    Hardlink(&'a str, &'a str),
}

/// A gzip-compressed tar of `entries`.
pub fn tar_gz_of(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for entry in entries {
        let mut header = tar::Header::new_old();
        let (name, kind, link, data): (&str, tar::EntryType, Option<&str>, &[u8]) = match entry {
            TarEntry::File(n, d) => (n, tar::EntryType::Regular, None, d),
            TarEntry::Dir(n) => (n, tar::EntryType::Directory, None, &[]),
            TarEntry::Symlink(n, t) => (n, tar::EntryType::Symlink, Some(t), &[]),
            TarEntry::Hardlink(n, t) => (n, tar::EntryType::Link, Some(t), &[]),
        };
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_size(data.len() as u64);
        header.set_cksum();
        tar.append(&header, data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// Writes `text` as a manifest into `dir` and parses it.
pub fn manifest(dir: &Path, text: &str) -> Manifest {
    let path = dir.join("test.toml");
    std::fs::write(&path, text).unwrap();
    Manifest::load(&path).unwrap()
}

/// Install options for a test: quick retries, short timeouts, the given root.
pub fn options(root: &Path) -> InstallOptions {
    InstallOptions {
        root: root.to_path_buf(),
        download: DownloadOptions {
            attempts_per_url: 3,
            retry_delay: Duration::from_millis(10),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(3),
        },
        ..Default::default()
    }
}

/// Every path under `dir`, relative, sorted (to show nothing stray was written).
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A payload big enough to be cut off midway (and not compressible to nothing).
pub fn payload(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// A manifest for `demo.zip` (folder `Demo`, top folder stripped) with these URLs and checksums.
pub fn zip_manifest(dir: &std::path::Path, urls: &[String], sha256: &str, md5: &str) -> Manifest {
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
