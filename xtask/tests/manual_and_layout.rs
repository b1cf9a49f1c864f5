//! Datasets behind a form (instructions, `--archive`, copies placed by hand), local copies
//! (Debian-style), and the xbn-data layout check run before anything is moved into place.

mod common;

use common::{TarEntry, digests, manifest, options, tar_gz_of, zip_of};
use xtask::fetch::{FetchError, Outcome, Progress, install};

const FORM: &str = r#"
name = "formset"
title = "Form Set"
homepage = "https://example.org/formset"
terms = "research only"
folder = "FormSet"
proof = ["list.txt", "img"]
[manual]
url = "https://example.org/form"
steps = "Fill in the form."
[[archives]]
file = "img.zip"
format = "zip"
[[archives]]
file = "list.txt"
format = "file"
"#;

#[test]
fn form_protected_dataset_prints_the_manual_step() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), FORM);
    let root = tmp.path().join("root");
    let err = install(&m, &options(&root), &Progress::hidden()).unwrap_err();
    let FetchError::ManualStepRequired(text) = &err else {
        panic!("{err}")
    };
    for needle in [
        "https://example.org/formset",
        "https://example.org/form",
        "Fill in the form.",
        "img.zip",
        "list.txt",
        "cargo xtask fetch-data formset --archive ~/Downloads/img.zip --archive ~/Downloads/list.txt --root",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    assert!(!root.join("FormSet").exists());
}

#[test]
fn user_archives_install_a_form_protected_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), FORM);
    let img = tmp.path().join("img.zip");
    std::fs::write(
        &img,
        zip_of(&[("img/a/1.jpg", b"one"), ("img/b/2.jpg", b"two")]),
    )
    .unwrap();
    let list = tmp.path().join("list.txt");
    std::fs::write(&list, "img/a/1.jpg a\n").unwrap();
    let root = tmp.path().join("root");
    let mut o = options(&root);
    o.archives = vec![list.clone(), img.clone()];
    let outcome = install(&m, &o, &Progress::hidden()).unwrap();
    assert!(matches!(outcome, Outcome::Installed { .. }), "{outcome:?}");
    assert_eq!(
        std::fs::read(root.join("FormSet/img/b/2.jpg")).unwrap(),
        b"two"
    );
    assert_eq!(
        std::fs::read(root.join("FormSet/list.txt")).unwrap(),
        b"img/a/1.jpg a\n"
    );
    assert!(
        img.exists() && list.exists(),
        "the user's files are never moved or deleted"
    );

    // An --archive that matches nothing is refused.
    let mut o = options(&tmp.path().join("r2"));
    o.archives = vec![tmp.path().join("test.toml")];
    let err = install(&m, &o, &Progress::hidden()).unwrap_err();
    assert!(
        matches!(err, FetchError::BadArchiveArgument { .. }),
        "{err}"
    );
}

#[test]
fn a_copy_placed_by_hand_is_checked_and_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), FORM);
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("FormSet/img")).unwrap();
    let err = install(&m, &options(&root), &Progress::hidden()).unwrap_err();
    assert!(
        matches!(err, FetchError::ManualStepRequired(_)),
        "incomplete copy: {err}"
    );
    std::fs::write(root.join("FormSet/list.txt"), "x").unwrap();
    let outcome = install(&m, &options(&root), &Progress::hidden()).unwrap();
    assert!(
        matches!(outcome, Outcome::VerifiedInPlace { .. }),
        "{outcome:?}"
    );
    let again = install(&m, &options(&root), &Progress::hidden()).unwrap();
    assert_eq!(again, Outcome::AlreadyInstalled(root.join("FormSet")));
}

#[test]
fn local_copies_are_used_and_checked_against_alternatives() {
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("usr-share");
    std::fs::create_dir_all(&local).unwrap();
    let repack = b"recompressed by a distribution".to_vec();
    std::fs::write(local.join("data.gz"), &repack).unwrap();
    let (alt_sha, alt_md5) = digests(&repack);
    let text = format!(
        r#"
name = "local"
title = "Local"
homepage = "https://example.org"
terms = "test"
folder = "Local"
proof = ["data.gz"]
local_dirs = ["{}"]
[[archives]]
file = "data.gz"
format = "file"
sha256 = "{}"
urls = ["http://127.0.0.1:9/never-used"]
[[archives.alternatives]]
source = "distribution repack"
sha256 = "{alt_sha}"
md5 = "{alt_md5}"
"#,
        local.display(),
        "a".repeat(64)
    );
    let m = manifest(tmp.path(), &text);
    let root = tmp.path().join("root");
    install(&m, &options(&root), &Progress::hidden()).unwrap();
    assert_eq!(std::fs::read(root.join("Local/data.gz")).unwrap(), repack);
    assert!(local.join("data.gz").exists());

    // A local copy matching neither set is refused (and left where it is).
    std::fs::write(local.join("data.gz"), b"tampered").unwrap();
    let mut o = options(&tmp.path().join("root2"));
    o.force = true;
    let err = install(&m, &o, &Progress::hidden()).unwrap_err();
    assert!(matches!(err, FetchError::ChecksumMismatch { .. }), "{err}");
    assert_eq!(std::fs::read(local.join("data.gz")).unwrap(), b"tampered");
}

fn sop_manifest(dir: &std::path::Path, kind: &str) -> xtask::fetch::Manifest {
    manifest(
        dir,
        &format!(
            r#"
name = "layout"
title = "Layout"
homepage = "https://example.org"
terms = "test"
folder = "L"
kind = "{kind}"
proof = []
[[archives]]
file = "l.tgz"
format = "tar.gz"
"#
        ),
    )
}

#[test]
fn xbn_data_layout_check_rejects_a_partial_sop_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[
        TarEntry::File(
            "Ebay_train.txt",
            b"image_id class_id super_class_id path\n1 1 1 bicycle_final/1_0.JPG\n2 1 1 bicycle_final/1_1.JPG\n",
        ),
        TarEntry::File(
            "Ebay_test.txt",
            b"image_id class_id super_class_id path\n3 2 1 bicycle_final/2_0.JPG\n4 2 1 bicycle_final/2_1.JPG\n",
        ),
        TarEntry::File("bicycle_final/1_0.JPG", b"j"),
        TarEntry::File("bicycle_final/1_1.JPG", b"j"),
        TarEntry::File("bicycle_final/2_0.JPG", b"j"),
    ]);
    let archive = tmp.path().join("l.tgz");
    std::fs::write(&archive, tgz).unwrap();
    let m = sop_manifest(tmp.path(), "sop");
    let root = tmp.path().join("root");
    let mut o = options(&root);
    o.archives = vec![archive];
    let err = install(&m, &o, &Progress::hidden()).unwrap_err();
    let FetchError::Layout { problems, .. } = &err else {
        panic!("{err}")
    };
    let all = problems.join("\n");
    assert!(
        all.contains("2_1.JPG"),
        "the missing image is named:\n{all}"
    );
    assert!(
        all.contains("59551") || all.contains("59,551"),
        "official counts compared:\n{all}"
    );
    assert!(!root.join("L").exists() && !root.join(".L.partial").exists());
}

#[test]
fn xbn_data_layout_check_accepts_a_folder_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = tar_gz_of(&[
        TarEntry::File("train/cat/a.png", b"p"),
        TarEntry::File("train/cat/b.png", b"p"),
        TarEntry::File("test/dog/c.png", b"p"),
    ]);
    let archive = tmp.path().join("l.tgz");
    std::fs::write(&archive, tgz).unwrap();
    let m = sop_manifest(tmp.path(), "folder");
    let root = tmp.path().join("root");
    let mut o = options(&root);
    o.archives = vec![archive];
    let Outcome::Installed { summary, .. } = install(&m, &o, &Progress::hidden()).unwrap() else {
        panic!()
    };
    assert_eq!(
        summary.splits,
        vec!["train: 2 images, 1 classes", "test: 1 images, 1 classes"]
    );
}

const ALTERNATIVES: &str = r#"
name = "formset"
title = "Form Set"
homepage = "https://example.org/formset"
terms = "research only"
folder = "FormSet"
proof = ["list.txt | Eval/list.txt", "img | Img/img"]
[manual]
url = "https://example.org/form"
steps = "Fill in the form."
[[archives]]
file = "img.zip"
format = "zip"
[[archives]]
file = "list.txt"
format = "file"
"#;

/// A proof entry may name alternatives (`a | b`): a copy placed by hand in the layout as
/// distributed (`Eval/list.txt`, `Img/img/`) is verified like the flattened one.
#[test]
fn proof_alternatives_accept_the_layout_as_distributed() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), ALTERNATIVES);
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("FormSet/Img/img/a")).unwrap();
    let err = install(&m, &options(&root), &Progress::hidden()).unwrap_err();
    let FetchError::ManualStepRequired(text) = &err else {
        panic!("incomplete copy: {err}")
    };
    assert!(
        text.contains("list.txt or Eval/list.txt, img or Img/img"),
        "{text}"
    );
    std::fs::create_dir_all(root.join("FormSet/Eval")).unwrap();
    std::fs::write(root.join("FormSet/Eval/list.txt"), "x").unwrap();
    let outcome = install(&m, &options(&root), &Progress::hidden()).unwrap();
    assert!(
        matches!(outcome, Outcome::VerifiedInPlace { .. }),
        "{outcome:?}"
    );
}

/// The shipped In-Shop manifest's proof files accept the download as distributed
/// (`Eval/list_eval_partition.txt`, `Img/img/`) and the flattened copy fetch-data makes.
#[test]
fn shipped_inshop_proof_accepts_both_layouts() {
    use xtask::fetch::layout::missing_proof;
    let m = xtask::fetch::Manifest::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/inshop.toml"),
    )
    .unwrap();
    for (list, img) in [
        ("Eval/list_eval_partition.txt", "Img/img"),
        ("list_eval_partition.txt", "img"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(img)).unwrap();
        std::fs::create_dir_all(tmp.path().join(list).parent().unwrap()).unwrap();
        std::fs::write(tmp.path().join(list), "0\n").unwrap();
        assert_eq!(
            missing_proof(&m, tmp.path()),
            Vec::<String>::new(),
            "{list}"
        );
    }
}
