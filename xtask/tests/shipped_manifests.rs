//! The manifests shipped in `datasets/` parse, and carry the published values quoted in the
//! project's issue and in the publishers' own pages (Zalando's README for Fashion-MNIST).

use std::path::PathBuf;

use xtask::fetch::convert::Conversion;
use xtask::fetch::manifest::{ArchiveFormat, load_all};

fn shipped() -> Vec<xtask::fetch::Manifest> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets");
    load_all(&dir).unwrap()
}

#[test]
fn every_dataset_has_a_valid_manifest() {
    let all = shipped();
    let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cars",
            "cub",
            "deepfashion2",
            "fashion-mnist",
            "inshop",
            "sop",
            "wordnet"
        ]
    );
    for m in &all {
        assert!(m.homepage.starts_with("https://"), "{}", m.name);
        assert!(!m.terms.is_empty() && !m.proof.is_empty(), "{}", m.name);
        // The kind names the xbn-data reader: the dataset's own, or `jsonl` for a conversion.
        let reader = if m.convert.is_some() {
            "jsonl"
        } else {
            m.name.as_str()
        };
        assert_eq!(m.kind.as_deref(), Some(reader), "{}", m.name);
        let manual = m.manual.is_some();
        assert_eq!(
            manual,
            ["cars", "deepfashion2", "inshop"].contains(&m.name.as_str()),
            "{}",
            m.name
        );
        for a in &m.archives {
            // Form-protected sets list no URLs; the others have at least one.
            assert_eq!(a.urls.is_empty(), manual, "{} {}", m.name, a.file);
        }
    }
}

#[test]
fn published_checksums_are_the_known_ones() {
    let all = shipped();
    let get = |n: &str| all.iter().find(|m| m.name == n).unwrap();
    let sop = &get("sop").archives[0];
    assert_eq!(sop.file, "Stanford_Online_Products.zip");
    assert_eq!(sop.format, ArchiveFormat::Zip);
    assert_eq!(sop.bytes, Some(3_083_860_082));
    assert_eq!(
        sop.sha256.as_deref(),
        Some("b04fa78210e69fab050ce73939550e1cd0f96890bdd98ec9fee732c3b756ef48")
    );
    assert_eq!(sop.md5.as_deref(), Some("7f73d41a2f44250d4779881525aea32e"));
    let cub = &get("cub").archives[0];
    assert_eq!(cub.file, "CUB_200_2011.tgz");
    assert_eq!(cub.md5.as_deref(), Some("97eceeb196236b17998738112f37df78"));
    let fm: Vec<(&str, &str)> = get("fashion-mnist")
        .archives
        .iter()
        .map(|a| (a.file.as_str(), a.md5.as_deref().unwrap()))
        .collect();
    assert_eq!(
        fm,
        [
            (
                "train-images-idx3-ubyte.gz",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
            ),
            (
                "train-labels-idx1-ubyte.gz",
                "25c81989df183df01b3e8a0aad5dffbe"
            ),
            (
                "t10k-images-idx3-ubyte.gz",
                "bef4ecab320f06d8554ea6380940ec79"
            ),
            (
                "t10k-labels-idx1-ubyte.gz",
                "bb300cfdad3c16e7a12a480ee83cd310"
            ),
        ]
    );
    // WordNet 3.0: Princeton publishes no checksum; these are the values other public projects
    // pin for this URL (see datasets/wordnet.toml).
    let wordnet = get("wordnet");
    assert_eq!(wordnet.convert, Some(Conversion::Wordnet));
    let tarball = &wordnet.archives[0];
    assert_eq!(tarball.file, "WordNet-3.0.tar.gz");
    assert_eq!(tarball.format, ArchiveFormat::TarGz);
    assert_eq!(
        tarball.urls,
        ["https://wordnetcode.princeton.edu/3.0/WordNet-3.0.tar.gz"]
    );
    assert_eq!(tarball.bytes, Some(11_537_239));
    assert_eq!(
        tarball.sha256.as_deref(),
        Some("640db279c949a88f61f851dd54ebbb22d003f8b90b85267042ef85a3781d3a52")
    );
}
