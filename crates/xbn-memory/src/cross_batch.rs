//! [`CrossBatchMemory`]: the one owner of the cross-batch memory's state.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use xbn_core::{MomentMatcher, MomentShift};

use crate::provenance::{BatchProvenance, ProvenanceRing};
use crate::{EmbeddingQueue, MemoryError, Result};

/// When the memory starts storing batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FillPolicy {
    /// Every batch is enqueued from iteration 0, so the memory is already full when its loss
    /// term starts at `t_start`.
    FromStart,
    /// Nothing is enqueued before `t_start`; the memory then grows from empty (XBM's reference
    /// code: `if iteration > START_ITERATION: xbm.enqueue_dequeue(...)`). Default.
    #[default]
    AtTStart,
}

/// The settings of a [`CrossBatchMemory`] besides its queue and matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemorySettings {
    /// The first iteration whose loss uses the memory, `t_start`.
    pub t_start: u64,
    /// When batches start being enqueued.
    pub fill: FillPolicy,
    /// Keep each entry's [`BatchProvenance`] and as-enqueued embedding (for the drift
    /// diagnostic); off by default, since it doubles the memory's storage.
    pub provenance: bool,
}

/// Entries of the memory picked by FIFO position, from [`CrossBatchMemory::entries`].
#[derive(Debug, Clone)]
pub struct MemoryEntries {
    /// The stored (adapted) embeddings `M̂`, `(n × d)`.
    pub adapted: Tensor,
    /// The iteration each entry was enqueued at, `(n,)` `i64`.
    pub iterations: Tensor,
    /// The embeddings as enqueued, `(n × d)`, when provenance is kept.
    pub as_enqueued: Option<Tensor>,
    /// The dataset index of each entry's image, `(n,)` `i64`, when provenance is kept.
    pub dataset_indices: Option<Tensor>,
    /// The augmentation seed of each entry's image (bits of the `u64`), `(n,)` `i64`, when
    /// provenance is kept.
    pub augmentation_seeds: Option<Tensor>,
}

/// The cross-batch memory of XBM with its moment matcher (identity for XBM, XBN, adaptive
/// XBN): the queue, the matcher, the iteration counter `t`, `t_start`, the fill policy and,
/// when asked for, per-entry provenance. Everything stays on the memory's device.
///
/// One [`CrossBatchMemory::update`] per training iteration `t` does steps 2–3 of the spec's
/// XBM iteration (the losses of steps 1 and 4 are `xbn-losses`' `XbmLoss`): adapt the stored
/// entries to the detached batch `Z_t`, `M ← M̂ = matcher(M, Z_t)`; then enqueue `Z_t` (unless
/// [`FillPolicy::AtTStart`] and `t < t_start`) and advance `t ← t + 1`.
///
/// The loss term `ℓ(Z_t, M̂_t)` is on for `t ≥ t_start` ([`CrossBatchMemory::is_active`] before
/// the update), over [`CrossBatchMemory::references`] with each anchor's own copy excluded by
/// [`CrossBatchMemory::own_copy_mask`]. The whole state saves and loads as one tensor map.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use xbn_core::Identity;
/// use xbn_memory::{CrossBatchMemory, EmbeddingQueue, MemorySettings};
/// let dev = Device::Cpu;
/// let queue = EmbeddingQueue::new(4, 2, DType::F32, &dev).unwrap();
/// let settings = MemorySettings { t_start: 1, ..Default::default() };
/// let mut memory = CrossBatchMemory::new(queue, Identity, settings).unwrap();
/// let z = Tensor::new(&[[1f32, 0.], [0., 1.]], &dev).unwrap();
/// let y = Tensor::new(&[3i64, 4], &dev).unwrap();
/// assert!(!memory.is_active()); // t = 0 < t_start
/// memory.update(&z, &y, None).unwrap(); // XBM's fill (the default): not enqueued before t_start
/// assert!(memory.is_active() && memory.len() == 0 && memory.iteration() == 1);
/// memory.update(&z, &y, None).unwrap();
/// assert!(memory.len() == 2 && memory.iteration() == 2);
/// ```
pub struct CrossBatchMemory<M: MomentMatcher = Box<dyn MomentMatcher>> {
    queue: EmbeddingQueue,
    matcher: M,
    iteration: u64,
    settings: MemorySettings,
    provenance: Option<ProvenanceRing>,
    /// `[0, 1, …, capacity − 1]` twice (`u32`, on the device): row `w + i` is slot
    /// `(w + i) mod capacity`, so the own-copy mask needs no modular arithmetic or upload.
    ring_slots: Tensor,
}

impl<M: MomentMatcher> CrossBatchMemory<M> {
    /// A memory over `queue` (usually empty) adapted by `matcher`, at iteration 0. Fails only
    /// when the provenance storage or the slot index cannot be allocated on the queue's device.
    pub fn new(queue: EmbeddingQueue, matcher: M, settings: MemorySettings) -> Result<Self> {
        let provenance = match settings.provenance {
            true => Some(ProvenanceRing::new(
                queue.capacity(),
                queue.dim(),
                queue.dtype(),
                queue.device(),
            )?),
            false => None,
        };
        let ring_slots = ring_slots(queue.capacity(), queue.device())?;
        Ok(Self {
            queue,
            matcher,
            iteration: 0,
            settings,
            provenance,
            ring_slots,
        })
    }

    /// The queue (embeddings, labels, enqueue iterations).
    pub fn queue(&self) -> &EmbeddingQueue {
        &self.queue
    }

    /// The moment matcher.
    pub fn matcher(&self) -> &M {
        &self.matcher
    }

    /// The settings given at construction.
    pub fn settings(&self) -> MemorySettings {
        self.settings
    }

    /// The next iteration `t` (0 before the first update).
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Whether the loss of the next iteration uses the memory: `t ≥ t_start`.
    pub fn is_active(&self) -> bool {
        self.iteration >= self.settings.t_start
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The number of entries once full, `M_max`.
    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// The device everything lives on.
    pub fn device(&self) -> &Device {
        self.queue.device()
    }

    /// The moments' shift of the last adaptation (see [`MomentMatcher::last_shift`]).
    pub fn last_shift(&self) -> Option<MomentShift> {
        self.matcher.last_shift()
    }

    /// Steps 2–3 of iteration `t` for the detached batch `(b × d)` with `labels` `(b,)`: adapt,
    /// enqueue (per the fill policy), `t ← t + 1`. `provenance` is required when the memory
    /// keeps it and ignored otherwise. The batch, labels and provenance are checked before
    /// anything changes, so a bad batch leaves the memory, the matcher and `t` unchanged.
    pub fn update(
        &mut self,
        batch: &Tensor,
        labels: &Tensor,
        provenance: Option<&BatchProvenance<'_>>,
    ) -> Result<()> {
        let enqueue = self.settings.fill == FillPolicy::FromStart || self.is_active();
        self.queue.check_batch(batch, labels)?;
        let provenance = self.checked_provenance(batch, provenance, enqueue)?;
        self.queue.adapt(&mut self.matcher, batch)?;
        if enqueue {
            self.enqueue(batch, labels, provenance)?;
        }
        self.iteration += 1;
        Ok(())
    }

    /// Replaces the content with `embeddings` (`(n × d)`, detached) and `labels` at the current
    /// iteration, e.g. XBM's warm start; the matcher and the iteration are unchanged.
    pub fn refill(
        &mut self,
        embeddings: &Tensor,
        labels: &Tensor,
        provenance: Option<&BatchProvenance<'_>>,
    ) -> Result<()> {
        self.queue.check_batch(embeddings, labels)?;
        let provenance = self.checked_provenance(embeddings, provenance, true)?;
        self.queue.clear();
        self.enqueue(embeddings, labels, provenance)
    }

    fn checked_provenance<'p>(
        &self,
        batch: &Tensor,
        provenance: Option<&'p BatchProvenance<'p>>,
        enqueue: bool,
    ) -> Result<Option<&'p BatchProvenance<'p>>> {
        if self.provenance.is_none() || !enqueue {
            return Ok(None);
        }
        let p = provenance.ok_or_else(|| {
            MemoryError::Provenance(
                "this memory keeps per-entry provenance: pass the batch's provenance".into(),
            )
        })?;
        ProvenanceRing::check(p, batch.dims().first().copied().unwrap_or(0))?;
        Ok(Some(p))
    }

    /// Enqueues a batch that passed `check_batch`.
    fn enqueue(
        &mut self,
        batch: &Tensor,
        labels: &Tensor,
        provenance: Option<&BatchProvenance<'_>>,
    ) -> Result<()> {
        self.queue.write_batch(batch, labels, self.iteration)?;
        if let (Some(ring), Some(p)) = (&self.provenance, provenance) {
            ring.write(self.queue.last_enqueued_rows(), batch, p)?;
        }
        Ok(())
    }

    /// The stored (adapted) embeddings `(len × d)` and their labels `(len,)`, in slot order.
    /// Views of the memory's storage: use them before the next update.
    pub fn references(&self) -> (Tensor, Tensor) {
        (self.queue.embeddings(), self.queue.labels())
    }

    /// The `(b × len)` `u8` mask with a 1 at (batch row `i`, slot of row `i`'s own copy), for
    /// the last enqueued batch of `b` rows (all zeros when nothing was enqueued at the last
    /// update). Built on the device from index tensors made at construction: no upload, no
    /// read back.
    pub fn own_copy_mask(&self, b: usize) -> Result<Tensor> {
        let m = self.len();
        let rows = self.queue.last_enqueued_rows();
        let dev = self.device();
        if rows.len() != b {
            return Ok(Tensor::zeros((b, m), DType::U8, dev)?);
        }
        let skip = rows.iter().take_while(|r| r.is_none()).count();
        let Some(&Some(start)) = rows.get(skip) else {
            return Ok(Tensor::zeros((b, m), DType::U8, dev)?);
        };
        let kept = b - skip;
        let own = self.ring_slots.narrow(0, start, kept)?.unsqueeze(1)?;
        let slots = self.ring_slots.narrow(0, 0, m)?.unsqueeze(0)?;
        let mask = own.broadcast_eq(&slots)?;
        if skip == 0 {
            return Ok(mask);
        }
        let dropped = Tensor::zeros((skip, m), DType::U8, dev)?;
        Ok(Tensor::cat(&[&dropped, &mask], 0)?)
    }

    /// The entries at FIFO `positions` (0 = oldest), e.g. a sample for the drift diagnostic.
    pub fn entries(&self, positions: &[usize]) -> Result<MemoryEntries> {
        let (len, cap) = (self.len(), self.capacity());
        if let Some(&position) = positions.iter().find(|&&p| p >= len) {
            return Err(MemoryError::Position { position, len });
        }
        let base = if self.queue.is_full() {
            self.queue.write_position()
        } else {
            0
        };
        let slots: Vec<u32> = positions
            .iter()
            .map(|&p| ((base + p) % cap) as u32)
            .collect();
        let idx = Tensor::from_vec(slots, positions.len(), self.device())?;
        let pick = |t: &Tensor| t.index_select(&idx, 0);
        let ring = self.provenance.as_ref();
        Ok(MemoryEntries {
            adapted: pick(&self.queue.embeddings)?,
            iterations: pick(&self.queue.iterations)?,
            as_enqueued: ring.map(|r| pick(&r.as_enqueued)).transpose()?,
            dataset_indices: ring.map(|r| pick(&r.dataset_index)).transpose()?,
            augmentation_seeds: ring.map(|r| pick(&r.augmentation_seed)).transpose()?,
        })
    }

    /// The whole state as named tensors: the queue's (see [`EmbeddingQueue::to_tensors`]),
    /// `{prefix}iteration` (`i64` `[1]`), the matcher's under `{prefix}matcher.` and, when kept,
    /// `{prefix}provenance.{dataset_index, augmentation_seed, as_enqueued}`.
    pub fn to_tensors(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        let mut map = self.queue.to_tensors(prefix)?;
        map.insert(
            format!("{prefix}iteration"),
            Tensor::new(&[self.iteration as i64], &Device::Cpu)?,
        );
        map.extend(self.matcher.state_tensors(&format!("{prefix}matcher."))?);
        if let Some(ring) = &self.provenance {
            map.extend(ring.to_tensors(&format!("{prefix}provenance.")));
        }
        Ok(map)
    }

    /// Restores what [`CrossBatchMemory::to_tensors`] saved with the same `prefix`, placing it
    /// on `device`; the settings stay those of `self`. The capacity and dimension must match.
    /// On error nothing changes.
    pub fn load_tensors(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        device: &Device,
    ) -> Result<()> {
        let queue = EmbeddingQueue::from_tensors(tensors, prefix, device)?;
        if (queue.capacity(), queue.dim()) != (self.capacity(), self.queue.dim()) {
            return Err(MemoryError::State(format!(
                "saved memory holds {} × {}, this one {} × {}",
                queue.capacity(),
                queue.dim(),
                self.capacity(),
                self.queue.dim()
            )));
        }
        let key = format!("{prefix}iteration");
        let iteration = match tensors.get(&key) {
            Some(t) if t.dims() == [1] && t.dtype() == DType::I64 => t.to_vec1::<i64>()?[0],
            Some(t) => {
                return Err(MemoryError::State(format!(
                    "`{key}` has shape {:?} dtype {:?}; expected [1] i64",
                    t.dims(),
                    t.dtype()
                )));
            }
            None => return Err(MemoryError::State(format!("missing tensor `{key}`"))),
        };
        let iteration = u64::try_from(iteration)
            .map_err(|_| MemoryError::State(format!("`{key}` is negative: {iteration}")))?;
        let provenance = match &self.provenance {
            Some(_) => Some(ProvenanceRing::from_tensors(
                tensors,
                &format!("{prefix}provenance."),
                (queue.capacity(), queue.dim(), queue.dtype()),
                device,
            )?),
            None => None,
        };
        let ring_slots = ring_slots(queue.capacity(), device)?;
        // The matcher last: its load leaves it unchanged on error, and nothing fails after it.
        self.matcher
            .load_state_tensors(tensors, &format!("{prefix}matcher."), device)?;
        self.ring_slots = ring_slots;
        self.queue = queue;
        self.iteration = iteration;
        self.provenance = provenance;
        Ok(())
    }
}

/// `[0, 1, …, capacity − 1, 0, 1, …, capacity − 1]` as `u32` on `device`.
fn ring_slots(capacity: usize, device: &Device) -> Result<Tensor> {
    let cap = capacity as u32;
    let slots: Vec<u32> = (0..cap).chain(0..cap).collect();
    Ok(Tensor::from_vec(slots, 2 * capacity, device)?)
}
