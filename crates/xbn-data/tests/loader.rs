//! The parallel loader: determinism across worker counts, order, shutdown, corrupt images.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::Device;
use xbn_data::loader::{Loader, LoaderConfig};
use xbn_data::pipeline::{ColorJitter, TrainTransform};
use xbn_data::synthetic::{Synthetic, SyntheticConfig};
use xbn_data::{DataError, DatasetIndex, Item, ItemSource, Role, Split};

fn synthetic() -> Arc<DatasetIndex> {
    Arc::new(
        Synthetic::dataset(SyntheticConfig {
            classes: 12,
            ..SyntheticConfig::default()
        })
        .unwrap(),
    )
}

fn transform() -> Arc<TrainTransform> {
    Arc::new(TrainTransform {
        jitter: Some(ColorJitter {
            brightness: 0.3,
            contrast: 0.3,
            saturation: 0.3,
        }),
        ..TrainTransform::new(20)
    })
}

fn batches(n: usize) -> Vec<Vec<usize>> {
    (0..n)
        .map(|b| (0..5).map(|k| (b * 7 + k * 3) % 60).collect())
        .collect()
}

type Flat = Vec<(usize, Vec<usize>, Vec<u32>, Vec<f32>)>;

fn load(workers: usize, seed: u64) -> Flat {
    let config = LoaderConfig {
        workers,
        seed,
        prefetch: 2,
        ..LoaderConfig::default()
    };
    let loader = Loader::new(
        synthetic(),
        batches(9).into_iter(),
        transform(),
        config,
        xbn_core::test_util::test_device(),
    )
    .unwrap();
    loader
        .map(|b| {
            let b = b.unwrap();
            let cpu = |t: &candle_core::Tensor| t.to_device(&Device::Cpu).unwrap();
            let images = cpu(&b.images)
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            (
                b.number,
                b.indices,
                cpu(&b.labels).to_vec1::<u32>().unwrap(),
                images,
            )
        })
        .collect()
}

#[test]
fn output_is_identical_for_one_and_three_workers() {
    let one = load(1, 5);
    let three = load(3, 5);
    assert_eq!(one.len(), 9);
    for (b, ((n, idx, labels, images), want)) in one.iter().zip(batches(9)).enumerate() {
        assert_eq!((*n, idx), (b, &want), "batch order");
        assert_eq!(images.len(), 5 * 3 * 20 * 20);
        let index = synthetic();
        assert_eq!(
            labels,
            &want
                .iter()
                .map(|&i| index.items[i].label)
                .collect::<Vec<_>>()
        );
    }
    assert!(one == three, "1 and 3 workers differ");
    assert!(
        one != load(2, 6),
        "another seed should change the augmentation"
    );
}

/// A sampler that counts how many batches were taken from it.
struct Counting(Arc<AtomicUsize>);
impl Iterator for Counting {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Some(vec![0, 1, 2])
    }
}

#[test]
fn drop_stops_workers_and_prefetch_is_bounded() {
    let taken = Arc::new(AtomicUsize::new(0));
    let config = LoaderConfig {
        workers: 3,
        prefetch: 2,
        ..LoaderConfig::default()
    };
    let mut loader = Loader::new(
        synthetic(),
        Counting(taken.clone()),
        transform(),
        config,
        Device::Cpu,
    )
    .unwrap();
    for _ in 0..4 {
        loader.next().unwrap().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let before = taken.load(Ordering::SeqCst);
    // 4 delivered + at most `prefetch` = 2 taken but not delivered.
    assert!(
        before <= 4 + 2,
        "{before} batches taken: prefetch is not bounded"
    );
    let stats = loader.stats();
    assert_eq!((stats.batches, stats.images, stats.skipped), (4, 12, 0));
    assert!(stats.images_per_second > 0.0);
    drop(loader);
    let after = taken.load(Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        taken.load(Ordering::SeqCst),
        after,
        "workers still running after drop"
    );
}

/// A folder of 10 PNGs, the ones in `bad` corrupt.
fn folder(dir: &Path, bad: &[usize]) -> Arc<DatasetIndex> {
    let items = (0..10)
        .map(|i| {
            let path = dir.join(format!("img{i}.png"));
            if bad.contains(&i) {
                std::fs::write(&path, b"\x89PNG\r\n\x1a\nbroken").unwrap();
            } else {
                image::RgbImage::from_pixel(30, 30, image::Rgb([i as u8 * 20, 0, 0]))
                    .save(&path)
                    .unwrap();
            }
            Item {
                source: ItemSource::File { path, crop: None },
                label: i as u32,
                split: Split::Train,
                role: Role::Train,
            }
        })
        .collect();
    Arc::new(DatasetIndex {
        name: "folder".into(),
        items,
    })
}

fn run(
    index: Arc<DatasetIndex>,
    config: LoaderConfig,
) -> (Vec<Vec<usize>>, Option<DataError>, u64) {
    let sampler = vec![vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8, 9]].into_iter();
    let mut loader = Loader::new(index, sampler, transform(), config, Device::Cpu).unwrap();
    let (mut ok, mut err) = (Vec::new(), None);
    for b in loader.by_ref() {
        match b {
            Ok(b) => ok.push(b.indices),
            Err(e) => err = Some(e),
        }
    }
    let skipped = loader.stats().skipped;
    (ok, err, skipped)
}

#[test]
fn corrupt_image_fails_naming_the_file_unless_skipping() {
    let dir = tempfile::tempdir().unwrap();
    let index = folder(dir.path(), &[6]);
    let (ok, err, _) = run(index.clone(), LoaderConfig::default());
    assert_eq!(ok, vec![vec![0, 1, 2, 3, 4]]);
    let msg = err.expect("an error").to_string();
    assert!(msg.contains("img6.png"), "{msg}");

    let skipping = LoaderConfig {
        skip_corrupt: true,
        skip_grace: 0,
        max_skip_fraction: 0.2,
        ..LoaderConfig::default()
    };
    let (ok, err, skipped) = run(index.clone(), skipping.clone());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(ok, vec![vec![0, 1, 2, 3, 4], vec![5, 7, 8, 9]]);
    assert_eq!(skipped, 1);

    // 1 of 10 = 10 % > 5 %: an error naming the file once the threshold is passed.
    let strict = LoaderConfig {
        max_skip_fraction: 0.05,
        ..skipping.clone()
    };
    let (ok, err, _) = run(index.clone(), strict);
    assert_eq!(ok.len(), 1);
    let msg = err.expect("threshold error").to_string();
    assert!(msg.contains("img6.png") && msg.contains("1 of 10"), "{msg}");

    // Within the grace period the threshold is not enforced.
    let graceful = LoaderConfig {
        max_skip_fraction: 0.05,
        skip_grace: 100,
        ..skipping.clone()
    };
    assert!(run(index, graceful).1.is_none());

    // A batch with nothing left is an error, whatever the threshold.
    let all_bad = folder(dir.path(), &[5, 6, 7, 8, 9]);
    let lenient = LoaderConfig {
        max_skip_fraction: 1.0,
        ..skipping
    };
    let (ok, err, _) = run(all_bad, lenient);
    assert_eq!(ok.len(), 1);
    assert!(
        err.expect("empty batch")
            .to_string()
            .contains("every image of batch 1")
    );
}

#[test]
fn bad_settings_and_indices_are_errors() {
    let zero = LoaderConfig {
        workers: 0,
        ..LoaderConfig::default()
    };
    assert!(matches!(
        Loader::new(
            synthetic(),
            std::iter::empty(),
            transform(),
            zero,
            Device::Cpu
        ),
        Err(DataError::Config(_))
    ));
    let mut l = Loader::new(
        synthetic(),
        vec![vec![0, 10_000]].into_iter(),
        transform(),
        LoaderConfig::default(),
        Device::Cpu,
    )
    .unwrap();
    let e = l.next().unwrap().unwrap_err().to_string();
    assert!(e.contains("10000") && e.contains("batch 0"), "{e}");
    assert!(l.next().is_none());
}

/// `(number, augmentation seed, images)` of every batch of a loader over `batches(9)` advanced
/// by `skip` batches and numbered from `first`, with `workers` threads and a `nice` value.
fn load_from(skip: usize, first: usize, workers: usize, nice: i32) -> Vec<(usize, u64, Vec<f32>)> {
    let config = LoaderConfig {
        workers,
        seed: 5,
        prefetch: 2,
        first_batch: first,
        nice,
        ..LoaderConfig::default()
    };
    let loader = Loader::new(
        synthetic(),
        batches(9).into_iter().skip(skip),
        transform(),
        config,
        Device::Cpu,
    )
    .unwrap();
    loader
        .map(|b| {
            let b = b.unwrap();
            let images = b.images.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (b.number, b.augmentation_seed, images)
        })
        .collect()
}

#[test]
fn a_loader_started_at_batch_k_repeats_the_uninterrupted_batches_from_k() {
    let straight = load_from(0, 0, 2, 0);
    assert_eq!(straight.len(), 9);
    // Resumed at batch 4, with another worker count and lower priority: the same batches 4..9.
    let resumed = load_from(4, 4, 1, 10);
    assert_eq!(resumed.len(), 5);
    for (a, b) in straight[4..].iter().zip(&resumed) {
        assert_eq!(a.0, b.0, "batch numbers");
        assert_eq!(a.1, b.1, "augmentation seed of batch {}", a.0);
        assert_eq!(a.2, b.2, "pixels of batch {}", a.0);
    }
    // Without `first_batch` the advanced sampler's first batch would get batch 0's
    // augmentations: a different seed and different pixels than batch 4 of the straight run.
    let unnumbered = load_from(4, 0, 1, 0);
    assert_eq!((unnumbered[0].0, unnumbered[0].1), (0, straight[0].1));
    assert_ne!(unnumbered[0].2, straight[4].2);
}

/// Every image of a batch is rendered again, pixel for pixel, from its dataset index and its
/// augmentation seed alone; another seed gives another view.
#[test]
fn render_views_repeats_each_image_of_a_batch_from_its_seed() {
    let device = xbn_core::test_util::test_device();
    let index = synthetic();
    let config = LoaderConfig {
        workers: 2,
        seed: 5,
        ..LoaderConfig::default()
    };
    let loader = Loader::new(
        index.clone(),
        batches(3).into_iter(),
        transform(),
        config,
        device.clone(),
    )
    .unwrap();
    for batch in loader {
        let b = batch.unwrap();
        assert_eq!(b.augmentation_seeds.len(), b.indices.len());
        // The views in reverse order, so that no image can borrow its neighbour's RNG state.
        let views: Vec<(usize, u64)> = b
            .indices
            .iter()
            .copied()
            .zip(b.augmentation_seeds.iter().copied())
            .rev()
            .collect();
        let again =
            xbn_data::loader::render_views(&index, &*transform(), &views, 3, &device).unwrap();
        let n = views.len();
        let rev: Vec<u32> = (0..n as u32).rev().collect();
        let rev = candle_core::Tensor::new(rev.as_slice(), &device).unwrap();
        let again = again.index_select(&rev, 0).unwrap();
        let a = b.images.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let c = again.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a, c, "batch {}", b.number);
        let other: Vec<(usize, u64)> = views.iter().map(|&(i, s)| (i, s ^ 1)).collect();
        let moved = xbn_data::loader::render_views(&index, &*transform(), &other, 1, &device)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_ne!(moved, c, "another seed, another view");
    }
}
