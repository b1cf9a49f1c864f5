//! Dataset names as the command line spells them, and the `load_dataset` dispatch.

use xbn_data::synthetic::SyntheticConfig;
use xbn_data::{DataError, DatasetKind, LoadOptions, Split, check_dataset, load_dataset};

#[test]
fn cli_names_parse_and_round_trip() {
    let names = [
        "sop",
        "inshop",
        "deepfashion2",
        "cub",
        "cars",
        "folder",
        "fashion-mnist",
        "synthetic",
        "text-folder",
        "jsonl",
    ];
    assert_eq!(names.len(), DatasetKind::ALL.len());
    for (name, kind) in names.iter().zip(DatasetKind::ALL) {
        assert_eq!(name.parse::<DatasetKind>().unwrap(), kind);
        assert_eq!(kind.to_string(), *name);
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        let back: DatasetKind = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(back, kind);
    }
    assert_eq!("SOP".parse::<DatasetKind>().unwrap(), DatasetKind::Sop);
    let err = "mnist".parse::<DatasetKind>().unwrap_err();
    assert!(
        matches!(&err, DataError::Config(m) if m.contains("`mnist`") && m.contains("fashion-mnist"))
    );
}

#[test]
fn synthetic_is_generated_whatever_the_root() {
    let synthetic = SyntheticConfig {
        classes: 10,
        cache: false,
        ..SyntheticConfig::default()
    };
    let options = LoadOptions {
        synthetic: synthetic.clone(),
        ..LoadOptions::default()
    };
    let root = std::path::Path::new("/nonexistent");
    let index = load_dataset(DatasetKind::Synthetic, root, &options).unwrap();
    let train_labels: std::collections::BTreeSet<u32> = index
        .split_indices(Split::Train)
        .iter()
        .map(|&i| index.items[i].label)
        .collect();
    assert_eq!(train_labels.len(), synthetic.train_classes());
    let report = check_dataset(DatasetKind::Synthetic, root, &options).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(
        report.splits[0].images + report.splits[1].images,
        index.items.len()
    );
    assert_eq!(report.splits[0].classes + report.splits[1].classes, 10);
}
