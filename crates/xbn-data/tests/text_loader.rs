//! `TextLoader` and `text_of`: dataset indices to token batches, compared with the Python
//! reference ids of `tests/fixtures/text/expected.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use xbn_data::text::{TextLoader, TextTokenizer, text_of};
use xbn_data::{DataError, DatasetIndex, Item, ItemSource, Role, Split};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/text")
        .join(name)
}

#[derive(serde::Deserialize)]
struct Case {
    max_length: usize,
    texts: Vec<String>,
    input_ids: Vec<Vec<u32>>,
    attention_mask: Vec<Vec<u32>>,
}

#[derive(serde::Deserialize)]
struct Expected {
    cases: Vec<Case>,
}

/// The first reference case: ten texts at `max_length` 16.
fn first_case() -> Case {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    let expected: Expected = serde_json::from_str(&text).unwrap();
    expected.cases.into_iter().next().unwrap()
}

/// A dataset whose item `i` is text `i`, with label `i % 3` (item 10 is an image).
fn dataset(texts: &[String]) -> Arc<DatasetIndex> {
    let mut items: Vec<Item> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Item {
            source: ItemSource::Text {
                text: t.as_str().into(),
                origin: format!("texts.txt:{}", i + 1),
            },
            label: (i % 3) as u32,
            split: Split::Train,
            role: Role::Train,
        })
        .collect();
    items.push(Item {
        source: ItemSource::File {
            path: "photo.jpg".into(),
            crop: None,
        },
        label: 0,
        split: Split::Train,
        role: Role::Train,
    });
    Arc::new(DatasetIndex {
        name: "texts".into(),
        items,
    })
}

fn make_loader(batches: Vec<Vec<usize>>, first_batch: usize) -> (TextLoader, Case) {
    let case = first_case();
    let tokenizer = TextTokenizer::from_file(&fixture("tokenizer.json"), case.max_length).unwrap();
    let loader = TextLoader::new(
        dataset(&case.texts),
        batches.into_iter(),
        Arc::new(tokenizer),
        first_batch,
        Device::Cpu,
    );
    (loader, case)
}

#[test]
fn batches_carry_reference_ids_labels_and_numbers() {
    let all: Vec<usize> = (0..10).collect();
    let (loader, case) = make_loader(vec![all.clone(), vec![9, 1]], 5);
    let batches: Vec<_> = loader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 2);
    let first = &batches[0];
    assert_eq!(first.number, 5);
    assert_eq!(first.indices, all);
    assert_eq!(first.ids.to_vec2::<u32>().unwrap(), case.input_ids);
    assert_eq!(first.mask.to_vec2::<u32>().unwrap(), case.attention_mask);
    assert_eq!(
        first.labels.to_vec1::<u32>().unwrap(),
        [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    );
    // "kitchen" and "": padded to the longer of the two (3 tokens), not to max_length.
    let second = &batches[1];
    assert_eq!(second.number, 6);
    assert_eq!(second.indices, [9, 1]);
    let kitchen: Vec<u32> = case.input_ids[9][..3].to_vec();
    let empty: Vec<u32> = case.input_ids[1][..3].to_vec();
    assert_eq!(second.ids.to_vec2::<u32>().unwrap(), [kitchen, empty]);
    assert_eq!(
        second.mask.to_vec2::<u32>().unwrap(),
        [vec![1, 1, 1], vec![1, 1, 0]]
    );
    assert_eq!(second.labels.to_vec1::<u32>().unwrap(), [0, 1]);
}

#[test]
fn out_of_range_indices_and_images_are_errors_that_end_the_loader() {
    let (mut loader, _) = make_loader(vec![vec![0], vec![0, 42], vec![1]], 0);
    assert!(loader.next().unwrap().is_ok());
    let err = loader.next().unwrap().unwrap_err();
    assert!(matches!(err, DataError::Config(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("index 42") && message.contains("batch 1"),
        "{message}"
    );
    assert!(loader.next().is_none());

    let (mut loader, _) = make_loader(vec![vec![3, 10]], 0);
    let err = loader.next().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "photo.jpg is an image, not a text sample");
}

#[test]
fn text_of_reads_text_items_only() {
    let index = dataset(&["a red shoe".to_string()]);
    assert_eq!(text_of(&index.items[0]).unwrap(), "a red shoe");
    let err = text_of(&index.items[1]).unwrap_err();
    assert!(matches!(err, DataError::Modality { .. }), "{err:?}");
}
