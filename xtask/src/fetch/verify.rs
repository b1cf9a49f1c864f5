//! Checksums: SHA-256 and MD5 of a file in one pass, compared with the published values.

use std::io::Read;
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

use super::error::{FetchError, IoContext, Result};
use super::manifest::Archive;
use super::progress::Progress;

/// The digests of a file, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// SHA-256.
    pub sha256: String,
    /// MD5.
    pub md5: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Computes SHA-256 and MD5 of `path` in a single read, reporting progress.
pub fn digest_file(path: &Path, progress: &Progress) -> Result<Digests> {
    let mut file = std::fs::File::open(path).at(path)?;
    let total = file.metadata().at(path)?.len();
    let bar = progress.bytes(&format!("verify {}", file_name(path)), Some(total));
    let (mut sha, mut md) = (Sha256::new(), Md5::new());
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        md.update(&buf[..n]);
        bytes += n as u64;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(Digests {
        sha256: hex::encode(sha.finalize()),
        md5: hex::encode(md.finalize()),
        bytes,
    })
}

/// Checks `path` against the archive's published checksums (or one of its alternatives).
///
/// Returns the digests on success. With no published checksum at all the file is accepted
/// (the caller says so). On mismatch the file is left where it is and the error names the
/// algorithm, the expected and the actual digest.
pub fn verify_archive(path: &Path, archive: &Archive, progress: &Progress) -> Result<Digests> {
    let digests = digest_file(path, progress)?;
    let primary = mismatch(
        &digests,
        archive.bytes,
        archive.sha256.as_deref(),
        archive.md5.as_deref(),
    );
    let Some((algorithm, expected, actual)) = primary else {
        return Ok(digests);
    };
    let alternative_ok = archive.alternatives.iter().any(|alt| {
        (alt.sha256.is_some() || alt.md5.is_some())
            && mismatch(
                &digests,
                alt.bytes,
                alt.sha256.as_deref(),
                alt.md5.as_deref(),
            )
            .is_none()
    });
    if alternative_ok {
        return Ok(digests);
    }
    Err(FetchError::ChecksumMismatch {
        path: path.to_path_buf(),
        algorithm,
        expected,
        actual,
    })
}

/// The first published value `digests` disagrees with, as (algorithm, expected, actual).
fn mismatch(
    digests: &Digests,
    bytes: Option<u64>,
    sha256: Option<&str>,
    md5: Option<&str>,
) -> Option<(&'static str, String, String)> {
    if let Some(expected) = sha256
        && expected != digests.sha256
    {
        return Some(("sha256", expected.to_string(), digests.sha256.clone()));
    }
    if let Some(expected) = md5
        && expected != digests.md5
    {
        return Some(("md5", expected.to_string(), digests.md5.clone()));
    }
    // The size only decides when no digest is published (a digest match implies the size).
    if let Some(expected) = bytes
        && sha256.is_none()
        && md5.is_none()
        && expected != digests.bytes
    {
        return Some(("size", expected.to_string(), digests.bytes.to_string()));
    }
    None
}

/// The final component of `path`, for messages.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        // FIPS 180-2 / RFC 1321 test vectors for "abc".
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let d = digest_file(&path, &Progress::hidden()).unwrap();
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d.bytes, 3);
    }
}
