//! Resumable HTTP(S) downloads with `ureq`.
//!
//! Bytes go to `<dest>.part`; a later attempt asks for the rest with `Range: bytes=<have>-`.
//! A `206 Partial Content` answer starting at `<have>` is appended; a `200 OK` means the server
//! ignored the range, so the part file is truncated and the download restarts cleanly. Only a
//! complete body is renamed to `<dest>`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{FetchError, IoContext, Result};
use super::manifest::check_scheme;
use super::progress::Progress;

/// How hard to try.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Attempts per URL while a broken connection keeps delivering bytes (each resumes).
    pub attempts_per_url: usize,
    /// Pause before a retry.
    pub retry_delay: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Longest silence tolerated while reading.
    pub read_timeout: Duration,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            attempts_per_url: 5,
            retry_delay: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
        }
    }
}

/// The `.part` file a download of `dest` writes into.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// Downloads the first of `urls` that works into `dest`, resuming any `<dest>.part`.
///
/// `expected` is the published size, if known (used for progress and to recognise a complete
/// part file). HTTP errors and failed connections move on to the next URL; a connection that
/// broke after delivering bytes is retried up to `attempts_per_url` times on the same URL,
/// resuming each time.
pub fn download(
    urls: &[String],
    dest: &Path,
    expected: Option<u64>,
    options: &DownloadOptions,
    progress: &Progress,
) -> Result<()> {
    let file = super::verify::file_name(dest);
    let part = part_path(dest);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .accept_encoding("identity")
        .timeout_connect(Some(options.connect_timeout))
        .timeout_per_read(Some(options.read_timeout))
        .user_agent(concat!("xbn-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut attempts = Vec::new();
    for url in urls {
        if let Err(e) = check_scheme(url) {
            attempts.push(e.to_string());
            continue;
        }
        for attempt in 1..=options.attempts_per_url.max(1) {
            progress.say(&format!("downloading {url}"));
            let before = part_len(&part);
            let result = fetch_once(&agent, url, &part, expected, progress);
            // Retry only an attempt that got somewhere (bytes arrived or the part file was
            // reset): a refused connection or unknown host moves on to the next URL at once.
            let moved = part_len(&part) != before;
            match result {
                Ok(()) => return std::fs::rename(&part, dest).at(dest),
                Err(e @ FetchError::Transport { .. })
                    if moved && attempt < options.attempts_per_url =>
                {
                    progress.say(&format!("  {e}; retrying (attempt {})", attempt + 1));
                    std::thread::sleep(options.retry_delay);
                }
                Err(e @ (FetchError::Transport { .. } | FetchError::HttpStatus { .. })) => {
                    attempts.push(e.to_string());
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    let partial = std::fs::metadata(&part)
        .is_ok_and(|m| m.len() > 0)
        .then_some(part);
    Err(FetchError::AllSourcesFailed {
        file,
        attempts,
        partial,
    })
}

/// Size of the part file (0 when absent).
fn part_len(part: &Path) -> u64 {
    std::fs::metadata(part).map(|m| m.len()).unwrap_or(0)
}

/// One request: resumes `part` if it has bytes; `Ok` when the body is complete.
fn fetch_once(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    expected: Option<u64>,
    progress: &Progress,
) -> Result<()> {
    let transport = |message: String| FetchError::Transport {
        url: url.to_string(),
        message,
    };
    let have = part_len(part);
    if have > 0 && expected == Some(have) {
        return Ok(());
    }
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = request.call().map_err(|e| transport(e.to_string()))?;
    let status = response.status().as_u16();
    let content_range = response
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (start, mut file) = match status {
        206 if have > 0 => {
            let start = content_range.as_deref().and_then(range_start);
            if start != Some(have) {
                std::fs::remove_file(part).at(part)?;
                return Err(transport(format!(
                    "asked for bytes from {have}, got Content-Range {content_range:?}; restarting"
                )));
            }
            progress.say(&format!("  resuming at byte {have}"));
            (have, OpenOptions::new().append(true).open(part).at(part)?)
        }
        200 | 206 => {
            if have > 0 {
                progress.say("  server ignored the Range request; restarting from byte 0");
            }
            (0, File::create(part).at(part)?)
        }
        416 if have > 0 => {
            // Our part file is not a prefix the server can continue: start over.
            std::fs::remove_file(part).at(part)?;
            return Err(transport(
                "range not satisfiable; restarting from byte 0".into(),
            ));
        }
        _ => {
            return Err(FetchError::HttpStatus {
                url: url.to_string(),
                status,
            });
        }
    };
    let length = response.body().content_length();
    let total = length.map(|n| n + start).or(expected);
    let bar = progress.bytes(&super::verify::file_name(part), total);
    bar.set_position(start);
    let mut reader = response.into_body().into_reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                file.flush().at(part)?;
                bar.abandon();
                return Err(transport(format!(
                    "connection broke after {} bytes: {e}",
                    start + received
                )));
            }
        };
        file.write_all(&buf[..n]).at(part)?;
        received += n as u64;
        bar.inc(n as u64);
    }
    file.sync_all().at(part)?;
    bar.finish_and_clear();
    if let Some(length) = length
        && received < length
    {
        return Err(transport(format!(
            "connection closed after {} of {} bytes",
            start + received,
            start + length
        )));
    }
    Ok(())
}

/// The first byte of a `Content-Range: bytes <start>-<end>/<total>` header.
fn range_start(header: &str) -> Option<u64> {
    let rest = header.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_start() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes */200"), None);
        assert_eq!(range_start("items 1-2/3"), None);
    }

    #[test]
    fn part_file_name() {
        assert_eq!(
            part_path(Path::new("/a/b.zip")),
            PathBuf::from("/a/b.zip.part")
        );
    }
}
