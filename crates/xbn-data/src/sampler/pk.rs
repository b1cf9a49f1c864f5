//! Class-balanced `P × K` batches: `P` distinct classes, `K` images of each.

use std::collections::{BTreeMap, VecDeque};

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::index::{DatasetIndex, Split};
use crate::{DataError, Result};

/// What to do with a class that has fewer than `K` images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmallClassPolicy {
    /// Use it, filling its `K` slots with all its images plus draws with replacement.
    #[default]
    WithReplacement,
    /// Leave it out of training.
    Skip,
}

/// Configuration of a [`PkSampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PkConfig {
    /// Classes per batch.
    pub p: usize,
    /// Images per class per batch.
    pub k: usize,
    /// Classes with fewer than `k` images.
    pub small_classes: SmallClassPolicy,
    /// Seed of the ChaCha8 generator; with the epoch number it fixes every batch.
    pub seed: u64,
}

/// Class-balanced sampler: every batch holds `P` distinct classes and `K` images of each
/// (`P · K` indices into [`DatasetIndex::items`], grouped by class).
///
/// **Epoch semantics.** Epoch `e` is a fixed function of `(seed, e)` (ChaCha8 seeded with `seed`,
/// stream `e`): each eligible class's images are shuffled and cut into chunks of `K` (a last,
/// short chunk is topped up with other images of the same class, without repeats; a class with
/// fewer than `K` images gives one chunk filled with replacement, or is skipped, per
/// [`SmallClassPolicy`]). Each batch then takes one chunk from each of `P` distinct classes
/// still holding chunks, chosen at random weighted by their remaining chunks. When fewer than `P`
/// such classes remain, the batch is completed with fresh random chunks of other classes. So an
/// epoch has `ceil(Σ_c ceil(n_c / K) / P)` batches or a few more, and shows **every image of every
/// eligible class at least once**. The iterator never ends: it runs epoch 0, 1, 2, … in turn.
#[derive(Debug, Clone)]
pub struct PkSampler {
    classes: Vec<Vec<usize>>,
    config: PkConfig,
    epoch: u64,
    pending: VecDeque<Vec<usize>>,
}

impl PkSampler {
    /// A sampler over the items of one split of `index`.
    pub fn new(index: &DatasetIndex, split: Split, config: PkConfig) -> Result<Self> {
        let labeled = index
            .split_indices(split)
            .into_iter()
            .map(|i| (i, index.items[i].label));
        Self::from_labeled(labeled, config)
    }

    /// A sampler over `(item index, label)` pairs.
    ///
    /// ```
    /// use xbn_data::sampler::{PkConfig, PkSampler, SmallClassPolicy};
    /// let labeled = (0..40).map(|i| (i, (i % 8) as u32)); // 8 classes of 5 images
    /// let config = PkConfig { p: 4, k: 2, small_classes: SmallClassPolicy::Skip, seed: 7 };
    /// let mut sampler = PkSampler::from_labeled(labeled, config).unwrap();
    /// let batch = sampler.next().unwrap();
    /// assert_eq!(batch.len(), 8);
    /// ```
    pub fn from_labeled(
        labeled: impl IntoIterator<Item = (usize, u32)>,
        config: PkConfig,
    ) -> Result<Self> {
        let mut by_label: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, label) in labeled {
            by_label.entry(label).or_default().push(i);
        }
        if config.p == 0 || config.k == 0 {
            return Err(DataError::Config(format!(
                "P × K sampling needs P ≥ 1 classes and K ≥ 1 images per class, found P = {}, K = {}",
                config.p, config.k
            )));
        }
        let total = by_label.len();
        let classes: Vec<Vec<usize>> = by_label
            .into_values()
            .filter(|c| {
                config.small_classes == SmallClassPolicy::WithReplacement || c.len() >= config.k
            })
            .collect();
        if classes.len() < config.p {
            return Err(DataError::Config(format!(
                "P = {} classes per batch, but only {} of the {total} classes are eligible \
                 (policy {:?} with K = {})",
                config.p,
                classes.len(),
                config.small_classes,
                config.k
            )));
        }
        Ok(Self {
            classes,
            config,
            epoch: 0,
            pending: VecDeque::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> PkConfig {
        self.config
    }

    /// Number of classes that take part.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// The epoch the next batch of the iterator belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch - u64::from(!self.pending.is_empty())
    }

    /// `K` images of class `c` drawn at random: distinct if it has `K`, else with replacement.
    fn random_chunk(&self, c: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let items = &self.classes[c];
        if items.len() >= self.config.k {
            items.choose_multiple(rng, self.config.k).copied().collect()
        } else {
            (0..self.config.k)
                .map(|_| items[rng.random_range(0..items.len())])
                .collect()
        }
    }

    /// The chunks of class `c` for one epoch (see the type's documentation).
    fn chunks(&self, c: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let k = self.config.k;
        let mut items = self.classes[c].clone();
        items.shuffle(rng);
        if items.len() < k {
            let mut chunk = items.clone();
            chunk.extend((0..k - items.len()).map(|_| items[rng.random_range(0..items.len())]));
            return vec![chunk];
        }
        let mut chunks: Vec<Vec<usize>> = items.chunks(k).map(<[usize]>::to_vec).collect();
        let short = chunks.last().map_or(0, Vec::len);
        if short < k {
            let rest = &items[..items.len() - short];
            let fill: Vec<usize> = rest.choose_multiple(rng, k - short).copied().collect();
            if let Some(last) = chunks.last_mut() {
                last.extend(fill);
            }
        }
        chunks
    }

    /// Every batch of epoch `epoch`, a pure function of the seed and `epoch`.
    pub fn epoch_batches(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        rng.set_stream(epoch);
        let mut remaining: Vec<Vec<Vec<usize>>> = (0..self.classes.len())
            .map(|c| self.chunks(c, &mut rng))
            .collect();
        let p = self.config.p;
        let mut batches = Vec::new();
        loop {
            let live: Vec<usize> = (0..remaining.len())
                .filter(|&c| !remaining[c].is_empty())
                .collect();
            if live.is_empty() {
                return batches;
            }
            let mut batch = Vec::with_capacity(p * self.config.k);
            if live.len() >= p {
                let chosen: Vec<usize> = live
                    .choose_multiple_weighted(&mut rng, p, |&c| remaining[c].len() as f64)
                    .map(|it| it.copied().collect())
                    .unwrap_or_else(|_| live[..p].to_vec());
                for c in chosen {
                    batch.extend(remaining[c].pop().unwrap_or_default());
                }
            } else {
                let others: Vec<usize> = (0..remaining.len())
                    .filter(|&c| remaining[c].is_empty())
                    .collect();
                let fill: Vec<usize> = others
                    .choose_multiple(&mut rng, p - live.len())
                    .copied()
                    .collect();
                for &c in &live {
                    batch.extend(remaining[c].pop().unwrap_or_default());
                }
                for c in fill {
                    batch.extend(self.random_chunk(c, &mut rng));
                }
            }
            batches.push(batch);
        }
    }
}

impl Iterator for PkSampler {
    type Item = Vec<usize>;

    /// The next batch; never `None` (epochs follow one another).
    fn next(&mut self) -> Option<Vec<usize>> {
        while self.pending.is_empty() {
            self.pending = self.epoch_batches(self.epoch).into();
            self.epoch += 1;
        }
        self.pending.pop_front()
    }
}
