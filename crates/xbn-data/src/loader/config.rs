//! Loader settings and statistics.

use std::time::Duration;

/// Settings of a [`Loader`](super::Loader).
#[derive(Debug, Clone, PartialEq)]
pub struct LoaderConfig {
    /// Worker threads (≥ 1).
    pub workers: usize,
    /// Batches the workers may run ahead of the consumer: taken from the sampler but not yet
    /// delivered (≥ 1; at least `workers` to keep every worker busy).
    pub prefetch: usize,
    /// Seed of the augmentations: batch `b` draws from an RNG seeded by `(seed, b)`, so output
    /// depends on neither the number of workers nor their timing. Use a different seed per
    /// epoch.
    pub seed: u64,
    /// The number of the first batch. A loader restarted at batch `k` of a run (a resumed
    /// training run, whose sampler was advanced by `k` batches) numbers its batches `k, k + 1,
    /// …`, so they are augmented exactly as in an uninterrupted run.
    pub first_batch: usize,
    /// Nice value added to the worker threads' scheduling priority (Linux; 0 leaves it, and
    /// other systems ignore it). A trainer whose compute threads use every core sets it so
    /// that decoding fills their idle moments instead of preempting them.
    pub nice: i32,
    /// Skip images that fail to decode (with a counted warning) instead of failing the batch.
    pub skip_corrupt: bool,
    /// With `skip_corrupt`, fail once `skipped / attempted > max_skip_fraction` …
    pub max_skip_fraction: f64,
    /// … and at least this many images have been attempted (so one bad image in the first
    /// batch does not end a run).
    pub skip_grace: usize,
}

impl Default for LoaderConfig {
    /// Two workers, four batches of prefetch, seed 0, first batch 0, no skipping (1 % threshold after 1,000
    /// images when enabled).
    fn default() -> Self {
        LoaderConfig {
            workers: 2,
            prefetch: 4,
            seed: 0,
            first_batch: 0,
            nice: 0,
            skip_corrupt: false,
            max_skip_fraction: 0.01,
            skip_grace: 1000,
        }
    }
}

/// Throughput counters of a loader, as seen by its consumer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoaderStats {
    /// Batches delivered.
    pub batches: u64,
    /// Images delivered.
    pub images: u64,
    /// Images skipped as corrupt.
    pub skipped: u64,
    /// Time since the loader started.
    pub elapsed: Duration,
    /// `images / elapsed`.
    pub images_per_second: f64,
}
