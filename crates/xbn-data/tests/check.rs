//! The data check on a small SOP fixture: its JSON report and the problems it lists.

use std::path::Path;

use xbn_data::{DatasetKind, LoadOptions, check_dataset};

fn write_image(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::new(4, 4).save(path).unwrap();
}

fn sop_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let train = "image_id class_id super_class_id path\n1 1 1 a/1.jpg\n2 1 1 a/2.jpg\n3 1 1 a/3.jpg\n4 2 1 a/4.jpg\n";
    let test = "image_id class_id super_class_id path\n1 3 1 b/1.jpg\n2 3 1 b/2.jpg\n";
    std::fs::write(dir.path().join("Ebay_train.txt"), train).unwrap();
    std::fs::write(dir.path().join("Ebay_test.txt"), test).unwrap();
    for f in [
        "a/1.jpg", "a/2.jpg", "a/3.jpg", "a/4.jpg", "b/1.jpg", "b/2.jpg",
    ] {
        write_image(&dir.path().join(f));
    }
    dir
}

#[test]
fn report_has_per_split_statistics_and_problems() {
    let dir = sop_fixture();
    std::fs::remove_file(dir.path().join("b/2.jpg")).unwrap();
    // verify_files off: the check looks at every file all the same.
    let options = LoadOptions {
        verify_files: false,
        ..LoadOptions::default()
    };
    let report = check_dataset(DatasetKind::Sop, dir.path(), &options).unwrap();
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["dataset"], "sop");
    assert_eq!(json["splits"][0]["split"], "train");
    assert_eq!(json["splits"][0]["images"], 4);
    assert_eq!(json["splits"][0]["classes"], 2);
    assert_eq!(json["splits"][0]["images_per_class"]["min"], 1);
    assert_eq!(json["splits"][0]["images_per_class"]["median"], 2.0);
    assert_eq!(json["splits"][0]["images_per_class"]["max"], 3);
    assert_eq!(json["splits"][1]["images"], 2);
    assert!(
        json["splits"][1].get("queries").is_none(),
        "SOP has no query/gallery split"
    );
    assert_eq!(json["missing_images"], 1);
    assert_eq!(json["ok"], false);
    let problems: Vec<String> = report.problems.clone();
    assert!(
        problems[0].contains("b/2.jpg") && problems[0].contains("Ebay_test.txt:3"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("4 train images, the official dataset has 59551"))
    );
}

#[test]
fn query_gallery_counts_for_inshop() {
    let dir = tempfile::tempdir().unwrap();
    let partition = "3\nimage_name item_id evaluation_status\n\
        img/x/id_1/1.jpg   id_1 train\nimg/x/id_2/1.jpg   id_2 query\nimg/x/id_2/2.jpg   id_2 gallery\n";
    std::fs::write(dir.path().join("list_eval_partition.txt"), partition).unwrap();
    for f in ["img/x/id_1/1.jpg", "img/x/id_2/1.jpg", "img/x/id_2/2.jpg"] {
        write_image(&dir.path().join(f));
    }
    let report = check_dataset(DatasetKind::InShop, dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(report.missing_images, 0);
    assert_eq!(
        (report.splits[1].queries, report.splits[1].gallery),
        (Some(1), Some(1))
    );
    assert_eq!(report.splits[0].queries, None);
    assert_eq!(report.splits[1].queries_without_gallery, Some(0));
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("1 queries, the official dataset has 14218"))
    );
}

#[test]
fn unreadable_annotations_are_errors_not_reports() {
    let dir = tempfile::tempdir().unwrap();
    let err = check_dataset(DatasetKind::Cub, dir.path(), &LoadOptions::default()).unwrap_err();
    // No annotation file in any layout: the error names every place looked.
    assert!(
        matches!(err, xbn_data::DataError::NotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("CUB_200_2011/images.txt"), "{err}");
}

/// The real Fashion-MNIST, where Debian's `dataset-fashion-mnist` is installed: a clean report.
#[test]
fn real_fashion_mnist_checks_clean() {
    let root = Path::new(xbn_data::readers::fashion_mnist::DEBIAN_ROOT);
    if !root.join("t10k-labels-idx1-ubyte.gz").is_file() {
        eprintln!("skipped: {} not installed", root.display());
        return;
    }
    let report = check_dataset(DatasetKind::FashionMnist, root, &LoadOptions::default()).unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(report.ok, "{:?}", report.problems);
    for split in &report.splits {
        assert_eq!((split.images, split.classes), (35_000, 5));
        let per_class = split.images_per_class.unwrap();
        assert_eq!(
            (per_class.min, per_class.median, per_class.max),
            (7_000, 7_000.0, 7_000)
        );
    }
}
