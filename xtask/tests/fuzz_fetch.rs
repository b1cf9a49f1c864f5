//! Fuzz targets of `fetch-data`'s inputs (issue 16, item 5): the archive extractor (zip and
//! tar.gz), the dataset manifests and the install marker (`.xbn-fetch.toml`), fed arbitrary
//! bytes and mutated valid files. Each must return a value or a typed [`FetchError`], never
//! panic, and the extractor must never write outside its target folder. `XBN_FUZZ_CASES=N`
//! sets the number of cases per target.

mod common;
#[path = "../../crates/xbn-data/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::path::{Path, PathBuf};

use common::{TarEntry, tar_gz_of, tree, zip_of};
use fuzz_support::{config, input};
use proptest::prelude::*;
use xtask::fetch::extract::{UnpackPlan, unpack};
use xtask::fetch::manifest::ArchiveFormat;
use xtask::fetch::safe_path::relative_components;
use xtask::fetch::{FetchError, Manifest, Progress};

/// A tar (not compressed) of a folder, two files, a link inside and a hard link.
fn tar_of() -> Vec<u8> {
    let gz = tar_gz_of(&[
        TarEntry::Dir("Top/"),
        TarEntry::File("Top/a.txt", b"first file"),
        TarEntry::File("Top/sub/b.jpg", &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]),
        TarEntry::Symlink("Top/link", "a.txt"),
        TarEntry::Hardlink("Top/hard", "Top/a.txt"),
    ]);
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut tar).unwrap();
    tar
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

fn zip_sample() -> Vec<u8> {
    zip_of(&[
        ("Top/", b""),
        ("Top/a.txt", b"first file, a bit longer so that it deflates"),
        ("Top/sub/b.jpg", &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]),
    ])
}

/// Unpacks `bytes` as `format` into a fresh folder; checks the result is a value or a typed
/// error naming the archive or the entry, and that nothing was written outside the target.
fn check_unpack(bytes: &[u8], format: ArchiveFormat, strip: usize) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("fuzzed.archive");
    std::fs::write(&archive, bytes).unwrap();
    let target = tmp.path().join("out/target");
    std::fs::create_dir_all(&target).unwrap();
    let plan = UnpackPlan {
        archive: &archive,
        format,
        target: &target,
        into: "",
        strip_components: strip,
    };
    let result = unpack(&plan, &Progress::hidden());
    if let Err(e) = &result {
        let named = match e {
            FetchError::Archive { archive: a, .. } | FetchError::UnsafeEntry { archive: a, .. } => {
                a == &archive
            }
            FetchError::Io { path, .. } => path.starts_with(&target),
            _ => false,
        };
        prop_assert!(named, "untyped or unnamed error: {e:?}");
    }
    let outside: Vec<PathBuf> = tree(tmp.path())
        .into_iter()
        .filter(|p| {
            !p.starts_with("out/target")
                && p != Path::new("out")
                && p != Path::new("fuzzed.archive")
        })
        .collect();
    prop_assert!(
        outside.is_empty(),
        "written outside the target: {outside:?}"
    );
    Ok(())
}

/// The shipped manifests, as valid inputs to mutate.
fn shipped(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../datasets")
            .join(format!("{name}.toml")),
    )
    .unwrap()
}

/// A manifest parses to one whose paths are all plain relative paths, or to a typed error
/// naming its file.
fn check_manifest(bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = Path::new("/nonexistent/fuzz.toml");
    let text = String::from_utf8_lossy(bytes);
    match Manifest::parse(&text, path) {
        Ok(m) => {
            prop_assert_eq!(relative_components(&m.folder).map(|p| p.len()), Ok(1));
            for a in &m.archives {
                prop_assert_eq!(relative_components(&a.file).map(|p| p.len()), Ok(1));
                if !a.into.is_empty() {
                    prop_assert!(relative_components(&a.into).is_ok());
                }
            }
            for p in &m.proof {
                for alternative in xtask::fetch::manifest::proof_alternatives(p) {
                    prop_assert!(relative_components(alternative).is_ok());
                }
            }
        }
        Err(FetchError::Manifest { path: p, .. }) => prop_assert_eq!(p, path),
        Err(other) => prop_assert!(false, "not a manifest error: {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn zip_extractor(bytes in input(zip_sample()), strip in 0usize..2) {
        check_unpack(&bytes, ArchiveFormat::Zip, strip)?;
    }

    /// Mutated tar headers and data, compressed after mutation (so gzip is intact).
    #[test]
    fn tar_extractor(bytes in input(tar_of()), strip in 0usize..2) {
        check_unpack(&gzip(&bytes), ArchiveFormat::TarGz, strip)?;
    }

    /// Mutated gzip streams around a valid tar.
    #[test]
    fn tar_gz_extractor(bytes in input(gzip(&tar_of()))) {
        check_unpack(&bytes, ArchiveFormat::TarGz, 0)?;
    }
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn manifest_parser(
        bytes in prop_oneof![
            input(shipped("sop")),
            input(shipped("fashion-mnist")),
            input(shipped("inshop")),
            input(shipped("wordnet")),
        ],
    ) {
        check_manifest(&bytes)?;
    }
}

/// The shipped Fashion-MNIST manifest, its proof files in a fresh folder, and the bytes of the
/// marker a verified install of it has.
fn marked_install() -> (Manifest, tempfile::TempDir, Vec<u8>) {
    use xtask::fetch::marker::{MARKER, Marker};
    use xtask::fetch::verify::Digests;
    let text = String::from_utf8(shipped("fashion-mnist")).unwrap();
    let manifest = Manifest::parse(&text, Path::new("fashion-mnist.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for proof in &manifest.proof {
        let first = xtask::fetch::manifest::proof_alternatives(proof)
            .next()
            .unwrap();
        std::fs::write(dir.path().join(first), b"").unwrap();
    }
    let digests: Vec<(String, Digests)> = manifest
        .archives
        .iter()
        .map(|a| {
            let digests = Digests {
                sha256: a.sha256.clone().unwrap(),
                md5: a.md5.clone().unwrap(),
                bytes: a.bytes.unwrap(),
            };
            (a.file.clone(), digests)
        })
        .collect();
    Marker::from_archives(&manifest, &digests)
        .write(dir.path())
        .unwrap();
    let bytes = std::fs::read(dir.path().join(MARKER)).unwrap();
    (manifest, dir, bytes)
}

proptest! {
    #![proptest_config(config(2000))]

    /// A corrupt install marker never panics, and only a marker that still reads as one can
    /// make an install verified.
    #[test]
    fn marker_reader(bytes in input(marked_install().2)) {
        use xtask::fetch::marker::{MARKER, Marker, is_verified};
        let (manifest, dir, _) = marked_install();
        std::fs::write(dir.path().join(MARKER), &bytes).unwrap();
        let verified = is_verified(&manifest, dir.path());
        prop_assert!(!verified || Marker::read(dir.path()).is_some());
    }
}

/// The unmutated marker makes the install verified (so the target above can see a difference).
#[test]
fn marker_of_a_verified_install_reads_back() {
    let (manifest, dir, _) = marked_install();
    assert!(xtask::fetch::marker::is_verified(&manifest, dir.path()));
}

/// Deeply nested TOML arrays and tables are an error, not a stack overflow.
#[test]
fn manifest_deep_nesting_is_an_error() {
    for text in [
        format!("name = {}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("name = {}{}", "{a = ".repeat(100_000), "}".repeat(100_000)),
    ] {
        let err = Manifest::parse(&text, Path::new("deep.toml")).unwrap_err();
        assert!(matches!(err, FetchError::Manifest { .. }), "{err:?}");
    }
}

/// A zip whose end-of-central-directory record claims 65,535 entries in a central directory of
/// 4 GiB at offset 0: a typed error naming the archive, nothing allocated for the claim.
#[test]
fn zip_claiming_more_entries_than_it_holds_is_an_error() {
    let mut bytes = zip_sample();
    let eocd = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    bytes[eocd + 8..eocd + 12].copy_from_slice(&[0xff; 4]);
    bytes[eocd + 12..eocd + 16].copy_from_slice(&[0xff, 0xff, 0xff, 0xfe]);
    check_unpack(&bytes, ArchiveFormat::Zip, 0).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("claim.zip");
    std::fs::write(&archive, &bytes).unwrap();
    let plan = UnpackPlan {
        archive: &archive,
        format: ArchiveFormat::Zip,
        target: tmp.path(),
        into: "",
        strip_components: 0,
    };
    let err = unpack(&plan, &Progress::hidden()).unwrap_err();
    assert!(matches!(err, FetchError::Archive { .. }), "{err:?}");
}

/// A tar entry whose header claims 10^12 bytes (GNU binary size field) with 10 behind it: the
/// copy streams what is there and fails on the early end, naming the entry.
#[test]
fn tar_entry_claiming_1e12_bytes_is_an_error() {
    let mut header = tar::Header::new_gnu();
    header.set_path("Top/huge.bin").unwrap();
    header.set_size(1_000_000_000_000);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend([7u8; 10]);
    tar.resize(tar.len() + 1024, 0);
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("claim.tar.gz");
    std::fs::write(&archive, gzip(&tar)).unwrap();
    let target = tmp.path().join("out");
    std::fs::create_dir(&target).unwrap();
    let plan = UnpackPlan {
        archive: &archive,
        format: ArchiveFormat::TarGz,
        target: &target,
        into: "",
        strip_components: 0,
    };
    let err = unpack(&plan, &Progress::hidden()).unwrap_err();
    assert!(matches!(err, FetchError::Archive { .. }), "{err:?}");
    assert!(err.to_string().contains("Top/huge.bin"), "{err}");
}
