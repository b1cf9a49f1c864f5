//! What a worker thread does with one batch of indices.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::pipeline::{Scratch, Transform, load_image};
use crate::seed::{item_seed, splitmix64};
use crate::{DataError, DatasetIndex, Result};

/// A batch as built by a worker (CPU data, not yet a tensor).
#[derive(Debug)]
pub(crate) struct RawBatch {
    /// CHW images, back to back.
    pub data: Vec<f32>,
    /// Dataset indices of the images in `data`.
    pub indices: Vec<usize>,
    /// Labels of the images in `data`.
    pub labels: Vec<u32>,
    /// The batch's seed; image `k` drew from `item_seed(augmentation_seed, k)`.
    pub augmentation_seed: u64,
    /// The augmentation seed of each image in `data`.
    pub item_seeds: Vec<u64>,
    /// `(index, error)` of the images skipped as corrupt.
    pub skipped: Vec<(usize, DataError)>,
}

/// The jobs a worker needs to build batches.
#[derive(Debug)]
pub(crate) struct Job {
    pub index: Arc<DatasetIndex>,
    pub transform: Arc<dyn Transform>,
    pub seed: u64,
    pub first_batch: usize,
    pub nice: i32,
    pub skip_corrupt: bool,
}

impl Job {
    /// Builds batch number `first_batch + number` from dataset `indices`; its seed is a function
    /// of `(seed, first_batch + number)`, and image `k` draws from its own RNG seeded with
    /// `item_seed(batch seed, k)`.
    pub fn build(
        &self,
        number: usize,
        indices: &[usize],
        scratch: &mut Scratch,
    ) -> Result<RawBatch> {
        let (h, w) = self.transform.output_size();
        let chw = 3 * h * w;
        let augmentation_seed =
            splitmix64(splitmix64(self.seed) ^ (self.first_batch + number) as u64);
        let mut batch = RawBatch {
            augmentation_seed,
            item_seeds: Vec::with_capacity(indices.len()),
            data: vec![0f32; indices.len() * chw],
            indices: Vec::with_capacity(indices.len()),
            labels: Vec::with_capacity(indices.len()),
            skipped: Vec::new(),
        };
        for &i in indices {
            let item = self.index.batch_item(number, i)?;
            let image = match load_image(&item.source) {
                Ok(image) => image,
                Err(e @ DataError::Decode { .. }) if self.skip_corrupt => {
                    batch.skipped.push((i, e));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let k = batch.indices.len();
            let seed = item_seed(augmentation_seed, k);
            self.transform.apply(
                &image,
                &mut ChaCha8Rng::seed_from_u64(seed),
                scratch,
                &mut batch.data[k * chw..(k + 1) * chw],
            )?;
            batch.item_seeds.push(seed);
            batch.indices.push(i);
            batch.labels.push(item.label);
        }
        batch.data.truncate(batch.indices.len() * chw);
        Ok(batch)
    }
}

/// What workers send the consumer.
#[derive(Debug)]
pub(crate) enum Message {
    /// Batch number `.0`, built or failed.
    Batch(usize, Result<RawBatch>),
    /// The sampler is exhausted after this many batches.
    End(usize),
}

/// The sampler shared by the workers, numbering its batches; never called again once it has
/// returned `None`.
pub(crate) struct SamplerState {
    iter: Box<dyn Iterator<Item = Vec<usize>> + Send>,
    taken: usize,
    exhausted: bool,
}

impl std::fmt::Debug for SamplerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SamplerState {{ taken: {}, exhausted: {} }}",
            self.taken, self.exhausted
        )
    }
}

impl SamplerState {
    /// Wraps a sampler.
    pub fn new(iter: Box<dyn Iterator<Item = Vec<usize>> + Send>) -> SamplerState {
        SamplerState {
            iter,
            taken: 0,
            exhausted: false,
        }
    }

    /// The next batch and its number, or `Err(total)` once exhausted.
    fn take(&mut self) -> std::result::Result<(usize, Vec<usize>), usize> {
        match (!self.exhausted).then(|| self.iter.next()).flatten() {
            Some(b) => {
                self.taken += 1;
                Ok((self.taken - 1, b))
            }
            None => {
                self.exhausted = true;
                Err(self.taken)
            }
        }
    }
}

/// Starts worker `w`: for each ticket (while not stopped) it takes the next batch from the
/// sampler, builds it and sends it; at the end of the sampler it sends [`Message::End`].
pub(crate) fn spawn(
    w: usize,
    job: &Arc<Job>,
    sampler: &Arc<Mutex<SamplerState>>,
    stop: &Arc<AtomicBool>,
    tickets: &Receiver<()>,
    results: &Sender<Message>,
) -> std::io::Result<JoinHandle<()>> {
    let (job, sampler, stop) = (job.clone(), sampler.clone(), stop.clone());
    let (tickets, results) = (tickets.clone(), results.clone());
    std::thread::Builder::new()
        .name(format!("xbn-loader-{w}"))
        .spawn(move || {
            lower_priority(job.nice);
            let mut scratch = Scratch::new();
            while tickets.recv().is_ok() && !stop.load(Ordering::SeqCst) {
                let next = match sampler.lock() {
                    Ok(mut s) => s.take(),
                    Err(_) => return,
                };
                let message = match next {
                    Ok((number, indices)) => {
                        Message::Batch(number, job.build(number, &indices, &mut scratch))
                    }
                    Err(total) => Message::End(total),
                };
                let end = matches!(message, Message::End(_));
                if results.send(message).is_err() || end {
                    return;
                }
            }
        })
}

/// Adds `nice` to the calling thread's nice value (Linux keeps one per thread); best effort: a
/// refusal leaves the priority as it was.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    // SAFETY: plain system calls on the calling thread with valid arguments; no memory is shared.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, current.saturating_add(nice));
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) {}
