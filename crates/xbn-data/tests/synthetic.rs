//! The synthetic dataset: determinism, class differences, split layout, configuration errors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use xbn_data::synthetic::{Synthetic, SyntheticConfig};
use xbn_data::{DataError, ImageProvider, ItemSource, Role, Split};

fn small() -> SyntheticConfig {
    SyntheticConfig {
        classes: 20,
        ..SyntheticConfig::default()
    }
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let s: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y) as u64)
        .sum();
    s as f64 / a.as_raw().len() as f64
}

#[test]
fn same_seed_same_pixels_on_any_thread() {
    let a = Synthetic::new(small()).unwrap();
    let b = Synthetic::new(SyntheticConfig {
        cache: false,
        ..small()
    })
    .unwrap();
    let from_thread = std::thread::spawn(|| Synthetic::new(small()).unwrap().render(7, 3))
        .join()
        .unwrap();
    assert_eq!(a.render(7, 3), from_thread);
    for i in 0..a.len() {
        assert_eq!(a.image(i).unwrap(), b.image(i).unwrap(), "image {i}");
    }
    assert_eq!(a.image(5).unwrap(), a.image(5).unwrap(), "cached copy");
}

#[test]
fn images_have_the_configured_size_and_are_not_flat() {
    let s = Synthetic::new(SyntheticConfig {
        image_size: 40,
        ..small()
    })
    .unwrap();
    let im = s.render(0, 0);
    assert_eq!(im.dimensions(), (40, 40));
    let distinct: BTreeSet<[u8; 3]> = im.pixels().map(|p| p.0).collect();
    assert!(
        distinct.len() > 50,
        "only {} distinct colours",
        distinct.len()
    );
}

#[test]
fn different_classes_instances_and_seeds_differ() {
    let s = Synthetic::new(small()).unwrap();
    let other = Synthetic::new(SyntheticConfig { seed: 1, ..small() }).unwrap();
    for c in 0..5 {
        assert!(
            mean_abs_diff(&s.render(c, 0), &s.render(c + 1, 0)) > 5.0,
            "classes {c}, {}",
            c + 1
        );
        assert!(
            mean_abs_diff(&s.render(c, 0), &s.render(c, 1)) > 1.0,
            "views of class {c}"
        );
        assert!(
            mean_abs_diff(&s.render(c, 0), &other.render(c, 0)) > 5.0,
            "seeds, class {c}"
        );
    }
}

#[test]
fn easy_views_of_a_class_are_closer_than_other_classes() {
    // At difficulty 0 the only nuisance is the background: the object's pixels repeat exactly
    // in every view of its class, and (almost) never in another class.
    let config = SyntheticConfig {
        difficulty: 0.0,
        image_size: 64,
        ..small()
    };
    let s = Synthetic::new(config).unwrap();
    let same = |a: &image::RgbImage, b: &image::RgbImage| {
        a.pixels().zip(b.pixels()).filter(|(x, y)| x == y).count()
    };
    for c in 0..5 {
        let within = same(&s.render(c, 0), &s.render(c, 1));
        let between = same(&s.render(c, 0), &s.render(c + 1, 0));
        assert!(
            within > 300 && between < 50,
            "class {c}: {within} vs {between} equal pixels"
        );
    }
}

#[test]
fn index_is_a_class_disjoint_split_like_sop() {
    let config = SyntheticConfig {
        classes: 30,
        min_images_per_class: 3,
        max_images_per_class: 9,
        ..small()
    };
    let index = Arc::new(Synthetic::new(config.clone()).unwrap()).index();
    assert_eq!(index.name, "synthetic");
    let mut per_class: BTreeMap<u32, (usize, Split, Role)> = BTreeMap::new();
    for (i, item) in index.items.iter().enumerate() {
        let e = per_class
            .entry(item.label)
            .or_insert((0, item.split, item.role));
        e.0 += 1;
        assert_eq!(
            (e.1, e.2),
            (item.split, item.role),
            "item {i} changes its class's split"
        );
        match &item.source {
            ItemSource::Provided { index: j, provider } => {
                assert_eq!(*j, i);
                assert!(
                    provider
                        .describe(i)
                        .contains(&format!("class={}", item.label))
                );
            }
            other => panic!("unexpected source {other:?}"),
        }
    }
    assert_eq!(
        per_class.keys().copied().collect::<Vec<_>>(),
        (0..30).collect::<Vec<_>>()
    );
    let train: Vec<u32> = per_class
        .iter()
        .filter(|(_, v)| v.1 == Split::Train)
        .map(|(&c, _)| c)
        .collect();
    assert_eq!(train, (0..15).collect::<Vec<_>>());
    for (c, (n, split, role)) in per_class {
        assert!((3..=9).contains(&n), "class {c} has {n} images");
        let want = if split == Split::Train {
            Role::Train
        } else {
            Role::QueryAndReference
        };
        assert_eq!(role, want);
    }
    let sizes: BTreeSet<usize> = (0..30)
        .map(|c| index.items.iter().filter(|it| it.label == c).count())
        .collect();
    assert!(sizes.len() > 2, "class sizes should vary, got {sizes:?}");
}

#[test]
fn defaults_are_small_and_full_is_large() {
    let d = SyntheticConfig::default();
    assert!(d.image_size <= 48 && (200..=2000).contains(&d.classes) && d.cache);
    let f = SyntheticConfig::full();
    assert!(f.classes >= 2000 && f.max_images_per_class >= 10);
    assert!(Synthetic::new(f).unwrap().len() > 20_000);
}

#[test]
fn bad_configurations_are_rejected() {
    let bad = [
        SyntheticConfig {
            classes: 1,
            ..small()
        },
        SyntheticConfig {
            min_images_per_class: 1,
            ..small()
        },
        SyntheticConfig {
            min_images_per_class: 5,
            max_images_per_class: 4,
            ..small()
        },
        SyntheticConfig {
            difficulty: 1.5,
            ..small()
        },
        SyntheticConfig {
            train_fraction: 1.0,
            ..small()
        },
        SyntheticConfig {
            image_size: 2,
            ..small()
        },
    ];
    for c in bad {
        match Synthetic::new(c.clone()) {
            Err(DataError::Config(m)) => assert!(m.starts_with("synthetic"), "{m}"),
            other => panic!("{c:?} gave {other:?}"),
        }
    }
    let s = Synthetic::new(small()).unwrap();
    assert!(matches!(s.image(s.len()), Err(DataError::Config(_))));
}
