//! The parallel loader: worker threads turn batches of dataset indices (from a sampler) into
//! NCHW tensors, ahead of the consumer by a bounded number of batches, delivered in sampler
//! order.
//!
//! Batch `b` is built by one worker with an RNG seeded from `(seed, b)`, so the output — order
//! and pixels — is the same whatever the number of workers. Dropping the loader stops and joins
//! the workers.
//!
//! ```
//! use std::sync::Arc;
//! use xbn_data::loader::{Loader, LoaderConfig};
//! use xbn_data::pipeline::TrainTransform;
//! use xbn_data::synthetic::{Synthetic, SyntheticConfig};
//!
//! let index = Arc::new(Synthetic::dataset(SyntheticConfig { classes: 4, ..Default::default() })?);
//! let batches = vec![vec![0, 1, 2], vec![3, 4]];
//! let loader = Loader::new(
//!     index,
//!     batches.into_iter(),
//!     Arc::new(TrainTransform::new(24)),
//!     LoaderConfig::default(),
//!     candle_core::Device::Cpu,
//! )?;
//! let shapes: Vec<Vec<usize>> =
//!     loader.map(|b| b.map(|b| b.images.dims().to_vec())).collect::<Result<_, _>>()?;
//! assert_eq!(shapes, vec![vec![3, 3, 24, 24], vec![2, 3, 24, 24]]);
//! # Ok::<(), xbn_data::DataError>(())
//! ```

mod config;
mod replay;
mod worker;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use candle_core::{Device, Tensor};
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

pub use config::{LoaderConfig, LoaderStats};
pub use replay::render_views;
use worker::{Job, Message, RawBatch, SamplerState};

use crate::pipeline::Transform;
use crate::{DataError, DatasetIndex, Result};

/// One batch of images.
#[derive(Debug)]
pub struct Batch {
    /// Position of the batch in the sampler's sequence (`first_batch`, `first_batch + 1`, …).
    pub number: usize,
    /// The batch's seed (a function of the loader's seed and `number`).
    pub augmentation_seed: u64,
    /// The seed of each image's augmentation, `item_seed(augmentation_seed, k)` for the image
    /// at position `k`: [`render_views`] renders the same view again from it.
    pub augmentation_seeds: Vec<u64>,
    /// Images, `(n, 3, height, width)` `f32`, on the loader's device.
    pub images: Tensor,
    /// Labels, `(n,)` `u32`, on the loader's device.
    pub labels: Tensor,
    /// Dataset indices of the `n` images.
    pub indices: Vec<usize>,
    /// Dataset indices of images of this batch skipped as corrupt.
    pub skipped: Vec<usize>,
}

/// Multi-threaded, order-preserving batch loader (see the [module docs](self)).
#[derive(Debug)]
pub struct Loader {
    results: Option<Receiver<Message>>,
    total: Option<usize>,
    tickets: Option<Sender<()>>,
    pending: BTreeMap<usize, Result<RawBatch>>,
    next: usize,
    done: bool,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    device: Device,
    shape: (usize, usize),
    config: LoaderConfig,
    attempted: u64,
    stats: LoaderStats,
    started: Instant,
}

impl Loader {
    /// Starts `config.workers` threads loading `batches` (lists of indices into `index.items`)
    /// through `transform`, with at most `config.prefetch` batches taken from the sampler but
    /// not yet delivered (being built, or built and waiting).
    pub fn new<I>(
        index: Arc<DatasetIndex>,
        batches: I,
        transform: Arc<dyn Transform>,
        config: LoaderConfig,
        device: Device,
    ) -> Result<Loader>
    where
        I: Iterator<Item = Vec<usize>> + Send + 'static,
    {
        if config.workers == 0 || config.prefetch == 0 {
            return Err(DataError::Config(format!(
                "loader needs workers ≥ 1 and prefetch ≥ 1 (got {} and {})",
                config.workers, config.prefetch
            )));
        }
        let shape = transform.output_size();
        let job = Arc::new(Job {
            index,
            transform,
            seed: config.seed,
            first_batch: config.first_batch,
            nice: config.nice,
            skip_corrupt: config.skip_corrupt,
        });
        let sampler = Arc::new(Mutex::new(SamplerState::new(Box::new(batches))));
        let stop = Arc::new(AtomicBool::new(false));
        // A worker needs a ticket to take a batch from the sampler; the consumer hands one back
        // per delivered batch, so at most `prefetch` batches are taken but not yet delivered.
        let (ticket_tx, ticket_rx) = bounded(config.prefetch);
        for _ in 0..config.prefetch {
            let _ = ticket_tx.send(());
        }
        let (tx, rx) = unbounded();
        let mut workers = Vec::with_capacity(config.workers);
        for w in 0..config.workers {
            let handle = worker::spawn(w, &job, &sampler, &stop, &ticket_rx, &tx)
                .map_err(|e| DataError::Config(format!("cannot start loader thread: {e}")))?;
            workers.push(handle);
        }
        let stats = LoaderStats {
            batches: 0,
            images: 0,
            skipped: 0,
            elapsed: Default::default(),
            images_per_second: 0.0,
        };
        Ok(Loader {
            results: Some(rx),
            total: None,
            tickets: Some(ticket_tx),
            pending: BTreeMap::new(),
            next: 0,
            done: false,
            stop,
            workers,
            device,
            shape,
            config,
            attempted: 0,
            stats,
            started: Instant::now(),
        })
    }

    /// Throughput counters so far.
    pub fn stats(&self) -> LoaderStats {
        let elapsed = self.started.elapsed();
        let rate = self.stats.images as f64 / elapsed.as_secs_f64().max(1e-9);
        LoaderStats {
            elapsed,
            images_per_second: rate,
            ..self.stats
        }
    }

    /// Turns a worker's batch into tensors, counting skipped images and enforcing the
    /// threshold, in batch order (so the outcome does not depend on thread timing).
    fn deliver(&mut self, number: usize, raw: RawBatch) -> Result<Batch> {
        let n = raw.indices.len();
        self.attempted += (n + raw.skipped.len()) as u64;
        self.stats.skipped += raw.skipped.len() as u64;
        for (i, e) in &raw.skipped {
            tracing::warn!(
                index = i,
                "skipping corrupt image ({} skipped so far): {e}",
                self.stats.skipped
            );
        }
        let fraction = self.stats.skipped as f64 / self.attempted.max(1) as f64;
        let over = self.attempted as usize >= self.config.skip_grace
            && fraction > self.config.max_skip_fraction;
        if let Some((_, last)) = raw.skipped.last().filter(|_| over || n == 0) {
            let (path, message) = match last {
                DataError::Decode { path, message } => (path.clone(), message.clone()),
                other => (Default::default(), other.to_string()),
            };
            let why = if n == 0 {
                format!("every image of batch {number} is corrupt")
            } else {
                format!(
                    "{} of {} images skipped as corrupt ({:.2} % > {:.2} %)",
                    self.stats.skipped,
                    self.attempted,
                    100.0 * fraction,
                    100.0 * self.config.max_skip_fraction
                )
            };
            return Err(DataError::Decode {
                path,
                message: format!("{message}; {why}"),
            });
        }
        let (h, w) = self.shape;
        let mut images = Tensor::from_vec(raw.data, (n, 3, h, w), &Device::Cpu)?;
        let mut labels = Tensor::from_vec(raw.labels, n, &Device::Cpu)?;
        if !self.device.is_cpu() {
            images = images.to_device(&self.device)?;
            labels = labels.to_device(&self.device)?;
        }
        self.stats.batches += 1;
        self.stats.images += n as u64;
        let skipped = raw.skipped.into_iter().map(|(i, _)| i).collect();
        Ok(Batch {
            number: self.config.first_batch + number,
            augmentation_seed: raw.augmentation_seed,
            augmentation_seeds: raw.item_seeds,
            images,
            labels,
            indices: raw.indices,
            skipped,
        })
    }

    fn shutdown(&mut self) {
        self.done = true;
        self.stop.store(true, Ordering::SeqCst);
        self.tickets = None;
        self.results = None;
        self.pending.clear();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

impl Iterator for Loader {
    type Item = Result<Batch>;

    /// The next batch in sampler order; after an error, `None`.
    fn next(&mut self) -> Option<Result<Batch>> {
        if self.done {
            return None;
        }
        loop {
            if let Some(result) = self.pending.remove(&self.next) {
                let number = self.next;
                self.next += 1;
                if let Some(t) = &self.tickets {
                    let _ = t.send(());
                }
                let out = result.and_then(|raw| self.deliver(number, raw));
                if out.is_err() {
                    self.shutdown();
                }
                return Some(out);
            }
            if self.total == Some(self.next) {
                self.shutdown();
                return None;
            }
            match self.results.as_ref().map(|rx| rx.recv()) {
                Some(Ok(Message::Batch(number, result))) => {
                    self.pending.insert(number, result);
                }
                Some(Ok(Message::End(total))) => self.total = Some(total),
                _ => {
                    self.shutdown();
                    return None;
                }
            }
        }
    }
}

impl Drop for Loader {
    /// Stops the workers (they finish at most their current batch) and joins them.
    fn drop(&mut self) {
        self.shutdown();
    }
}
