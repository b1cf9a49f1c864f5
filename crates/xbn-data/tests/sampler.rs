//! Properties of the P × K and sequential samplers.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use xbn_data::sampler::{PkConfig, PkSampler, SequentialSampler, SmallClassPolicy};
use xbn_data::{DataError, DatasetIndex, Item, ItemSource, Role, Split};

/// `(item index, label)` pairs for classes of the given sizes; item indices are shuffled
/// relative to labels by interleaving, so a sampler grouping by position would fail.
fn labeled(sizes: &[usize]) -> Vec<(usize, u32)> {
    let mut out = Vec::new();
    let max = sizes.iter().copied().max().unwrap_or(0);
    for j in 0..max {
        for (c, &n) in sizes.iter().enumerate() {
            if j < n {
                out.push((out.len(), c as u32));
            }
        }
    }
    out
}

fn config(p: usize, k: usize, small_classes: SmallClassPolicy, seed: u64) -> PkConfig {
    PkConfig {
        p,
        k,
        small_classes,
        seed,
    }
}

/// Checks the batch shape: P distinct classes, each in a run of K items, and (for classes with
/// at least K images) K distinct items.
fn check_batch(batch: &[usize], label: &BTreeMap<usize, u32>, sizes: &[usize], p: usize, k: usize) {
    assert_eq!(batch.len(), p * k);
    let mut classes = BTreeSet::new();
    for run in batch.chunks(k) {
        let c = label[&run[0]];
        assert!(
            run.iter().all(|i| label[i] == c),
            "a run of K mixes classes: {run:?}"
        );
        assert!(classes.insert(c), "class {c} twice in a batch");
        if sizes[c as usize] >= k {
            assert_eq!(
                run.iter().collect::<BTreeSet<_>>().len(),
                k,
                "repeats in {run:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_batch_is_p_by_k_and_an_epoch_covers_every_image(
        sizes in prop::collection::vec(1usize..9, 2..24),
        k in 1usize..5,
        p_frac in 0.0f64..1.0,
        seed in any::<u64>(),
        skip in any::<bool>(),
    ) {
        let policy = if skip { SmallClassPolicy::Skip } else { SmallClassPolicy::WithReplacement };
        let eligible: Vec<usize> =
            (0..sizes.len()).filter(|&c| !skip || sizes[c] >= k).collect();
        prop_assume!(!eligible.is_empty());
        let p = 1 + (p_frac * (eligible.len() - 1) as f64) as usize;
        let pairs = labeled(&sizes);
        let label: BTreeMap<usize, u32> = pairs.iter().copied().collect();
        let sampler = PkSampler::from_labeled(pairs.clone(), config(p, k, policy, seed)).unwrap();
        prop_assert_eq!(sampler.num_classes(), eligible.len());
        let batches = sampler.epoch_batches(0);
        let mut seen = BTreeSet::new();
        for b in &batches {
            check_batch(b, &label, &sizes, p, k);
            seen.extend(b.iter().copied());
        }
        let expected: BTreeSet<usize> = pairs
            .iter()
            .filter(|(_, c)| eligible.contains(&(*c as usize)))
            .map(|(i, _)| *i)
            .collect();
        prop_assert_eq!(&seen, &expected, "an epoch must show every eligible image");
        let chunks: usize = eligible.iter().map(|&c| sizes[c].div_ceil(k)).sum();
        prop_assert!(batches.len() >= chunks.div_ceil(p) && batches.len() <= chunks);
    }

    #[test]
    fn same_seed_same_batches_other_seed_other_batches(seed in any::<u64>()) {
        let pairs = labeled(&[6; 20]);
        let cfg = config(5, 3, SmallClassPolicy::Skip, seed);
        let a: Vec<Vec<usize>> = PkSampler::from_labeled(pairs.clone(), cfg).unwrap().take(30).collect();
        let b: Vec<Vec<usize>> = PkSampler::from_labeled(pairs.clone(), cfg).unwrap().take(30).collect();
        prop_assert_eq!(&a, &b);
        let other = config(5, 3, SmallClassPolicy::Skip, seed.wrapping_add(1));
        let c: Vec<Vec<usize>> = PkSampler::from_labeled(pairs, other).unwrap().take(30).collect();
        prop_assert_ne!(a, c);
    }
}

#[test]
fn iterator_runs_epochs_in_turn_and_they_differ() {
    let pairs = labeled(&[4; 10]);
    let mut sampler =
        PkSampler::from_labeled(pairs, config(2, 2, SmallClassPolicy::Skip, 3)).unwrap();
    let (e0, e1) = (sampler.epoch_batches(0), sampler.epoch_batches(1));
    assert_eq!(e0.len(), 10, "20 chunks of K = 2 in batches of P = 2");
    assert_ne!(e0, e1);
    let first: Vec<Vec<usize>> = sampler.by_ref().take(e0.len()).collect();
    assert_eq!(first, e0);
    assert_eq!(sampler.epoch(), 1);
    assert_eq!(sampler.next().unwrap(), e1[0]);
    // The loader takes any `Iterator<Item = Vec<usize>> + Send`.
    fn loader_input(mut batches: impl Iterator<Item = Vec<usize>> + Send) -> usize {
        batches.next().map_or(0, |b| b.len())
    }
    assert_eq!(loader_input(sampler), 4);
}

#[test]
fn small_classes_are_skipped_or_filled_with_replacement() {
    let pairs = labeled(&[1, 5, 5, 2]);
    let skip =
        PkSampler::from_labeled(pairs.clone(), config(2, 3, SmallClassPolicy::Skip, 0)).unwrap();
    assert_eq!(skip.num_classes(), 2);
    let fill = PkSampler::from_labeled(
        pairs.clone(),
        config(4, 3, SmallClassPolicy::WithReplacement, 0),
    )
    .unwrap();
    let label: BTreeMap<usize, u32> = pairs.iter().copied().collect();
    for b in fill.epoch_batches(0) {
        check_batch(&b, &label, &[1, 5, 5, 2], 4, 3);
        let run0: Vec<usize> = b.chunks(3).find(|r| label[&r[0]] == 0).unwrap().to_vec();
        assert_eq!(run0, vec![0, 0, 0], "the one image of class 0, three times");
    }
}

#[test]
fn impossible_configurations_are_config_errors_with_numbers() {
    let pairs = labeled(&[1, 5, 5, 2]);
    let err = PkSampler::from_labeled(pairs.clone(), config(3, 3, SmallClassPolicy::Skip, 0))
        .unwrap_err();
    let DataError::Config(msg) = &err else {
        panic!("{err}")
    };
    assert!(
        msg.contains("P = 3") && msg.contains("only 2 of the 4 classes") && msg.contains("K = 3"),
        "{msg}"
    );
    let err = PkSampler::from_labeled(pairs.clone(), config(2, 0, SmallClassPolicy::Skip, 0))
        .unwrap_err();
    assert!(err.to_string().contains("K = 0"), "{err}");
    let err = PkSampler::from_labeled(pairs, config(0, 2, SmallClassPolicy::Skip, 0)).unwrap_err();
    assert!(err.to_string().contains("P = 0"), "{err}");
    assert!(SequentialSampler::new(vec![1, 2], 0).is_err());
}

#[test]
fn pk_sampler_uses_only_the_requested_split() {
    let item = |label, split| Item {
        source: ItemSource::File {
            path: "x.jpg".into(),
            crop: None,
        },
        label,
        split,
        role: Role::Train,
    };
    let items = (0..12)
        .map(|i| item(i % 4, if i % 4 < 2 { Split::Train } else { Split::Test }))
        .collect();
    let index = DatasetIndex {
        name: "t".into(),
        items,
    };
    let sampler = PkSampler::new(
        &index,
        Split::Train,
        config(2, 3, SmallClassPolicy::Skip, 1),
    )
    .unwrap();
    let batches = sampler.epoch_batches(0);
    assert_eq!(batches.len(), 1);
    let mut all = batches[0].clone();
    all.sort();
    assert_eq!(all, vec![0, 1, 4, 5, 8, 9]);
}

#[test]
fn sequential_sampler_keeps_order_and_the_remainder() {
    let batches: Vec<Vec<usize>> = SequentialSampler::new(vec![5, 3, 9, 1, 7], 2)
        .unwrap()
        .collect();
    assert_eq!(batches, vec![vec![5, 3], vec![9, 1], vec![7]]);
    assert_eq!(
        SequentialSampler::new(vec![5, 3, 9, 1, 7], 2)
            .unwrap()
            .num_batches(),
        3
    );
}
