//! The FIFO ring buffer of embeddings, labels and enqueue iterations.

use candle_core::{DType, Device, Tensor};
use xbn_core::{MomentMatcher, check_finite};

use crate::ring::ring_write;
use crate::{MemoryError, Result};

/// A fixed-capacity FIFO queue of `(embedding, label, iteration)` entries on a candle device.
///
/// Layout (identical to pytorch-metric-learning's `CrossBatchMemory`): `capacity` slots; the
/// entry `i` of an enqueued batch goes to slot `(write_position + i) mod capacity`, then
/// `write_position` advances by the batch size (mod capacity). Until the queue is full the valid
/// entries are slots `0..write_position`; afterwards all slots. The views
/// [`EmbeddingQueue::embeddings`], [`EmbeddingQueue::labels`] and [`EmbeddingQueue::ages`] list
/// valid entries in slot order, so row `r` of every view is slot `r`. A batch larger than the
/// capacity behaves as if enqueued one row at a time: only its newest `capacity` rows remain.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use xbn_memory::EmbeddingQueue;
/// let dev = Device::Cpu;
/// let mut q = EmbeddingQueue::new(4, 2, DType::F32, &dev).unwrap();
/// let emb = Tensor::new(&[[1f32, 1.0], [2.0, 2.0], [3.0, 3.0]], &dev).unwrap();
/// q.enqueue(&emb, &Tensor::new(&[10i64, 20, 30], &dev).unwrap(), 0).unwrap();
/// q.enqueue(&emb, &Tensor::new(&[40i64, 50, 60], &dev).unwrap(), 1).unwrap();
/// assert!(q.is_full());
/// // slots 0..3 got 10,20,30; the second batch wrote slots 3, 0, 1.
/// assert_eq!(q.labels().to_vec1::<i64>().unwrap(), vec![50, 60, 30, 40]);
/// assert_eq!(q.last_enqueued_rows(), &[Some(3), Some(0), Some(1)]);
/// assert_eq!(q.ages(3).unwrap().to_vec1::<i64>().unwrap(), vec![2, 2, 3, 2]);
/// ```
#[derive(Debug, Clone)]
pub struct EmbeddingQueue {
    pub(crate) embeddings: Tensor,
    pub(crate) labels: Tensor,
    pub(crate) iterations: Tensor,
    pub(crate) write_position: usize,
    pub(crate) filled: bool,
    pub(crate) last_rows: Vec<Option<usize>>,
}

impl EmbeddingQueue {
    /// An empty queue of `capacity` embeddings of dimension `dim`, stored in `dtype` (a float
    /// type) on `device`. Labels and iterations are stored as `i64`.
    pub fn new(capacity: usize, dim: usize, dtype: DType, device: &Device) -> Result<Self> {
        if capacity == 0 || dim == 0 {
            return Err(MemoryError::InvalidConfig(format!(
                "capacity and dim must be >= 1, got capacity {capacity}, dim {dim}"
            )));
        }
        xbn_core::stat_dtype("queue dtype", dtype)?;
        Ok(Self {
            embeddings: Tensor::zeros((capacity, dim), dtype, device)?,
            labels: Tensor::zeros(capacity, DType::I64, device)?,
            iterations: Tensor::zeros(capacity, DType::I64, device)?,
            write_position: 0,
            filled: false,
            last_rows: Vec::new(),
        })
    }

    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.embeddings.dims()[0]
    }

    /// The embedding dimension `d`.
    pub fn dim(&self) -> usize {
        self.embeddings.dims()[1]
    }

    /// The storage dtype of the embeddings.
    pub fn dtype(&self) -> DType {
        self.embeddings.dtype()
    }

    /// The device the queue lives on.
    pub fn device(&self) -> &Device {
        self.embeddings.device()
    }

    /// The number of valid entries (`capacity` once full).
    pub fn len(&self) -> usize {
        if self.filled {
            self.capacity()
        } else {
            self.write_position
        }
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every slot holds an entry (PML's `has_been_filled`).
    pub fn is_full(&self) -> bool {
        self.filled
    }

    /// The slot the next enqueued row goes to (PML's `queue_idx`).
    pub fn write_position(&self) -> usize {
        self.write_position
    }

    /// Forgets all entries (storage is kept; contents of unused slots are unspecified).
    pub fn clear(&mut self) {
        self.write_position = 0;
        self.filled = false;
        self.last_rows.clear();
    }

    /// The valid embeddings, `(len × d)`, in slot order (row `r` is slot `r`).
    ///
    /// The tensor is a view that shares storage with the queue: a later `enqueue`, `adapt` or
    /// `clear` may change what it reads. Call `.copy()` to keep a snapshot.
    pub fn embeddings(&self) -> Tensor {
        self.valid(&self.embeddings)
    }

    /// The labels of the valid entries, `(len,)` `i64`, aligned with
    /// [`EmbeddingQueue::embeddings`]. Same view caveat.
    pub fn labels(&self) -> Tensor {
        self.valid(&self.labels)
    }

    /// The iteration each valid entry was enqueued at, `(len,)` `i64`. Same view caveat.
    pub fn iterations(&self) -> Tensor {
        self.valid(&self.iterations)
    }

    /// `now − iteration` for every valid entry, `(len,)` `i64` (negative if `now` is earlier
    /// than an entry's iteration).
    pub fn ages(&self, now: u64) -> Result<Tensor> {
        let it = self.iterations();
        let now = Tensor::full(now as i64, it.dims(), it.device())?;
        Ok((now - it)?)
    }

    /// Where the rows of the last enqueued batch sit: element `i` is `Some(r)` when batch row
    /// `i` is row `r` of [`EmbeddingQueue::embeddings`] (and of `labels`, `ages`), or `None` when
    /// that row was dropped because the batch was larger than the capacity (only its newest
    /// `capacity` rows are kept). Empty before the first enqueue and after `clear`/restore.
    ///
    /// The XBM loss uses this to exclude each anchor's own copy from the memory term after the
    /// batch has been enqueued. It equals PML's `curr_batch_idx` for batches up to the capacity.
    pub fn last_enqueued_rows(&self) -> &[Option<usize>] {
        &self.last_rows
    }

    fn valid(&self, t: &Tensor) -> Tensor {
        // narrow within bounds cannot fail: len <= capacity = dims()[0].
        t.narrow(0, 0, self.len()).unwrap_or_else(|_| t.clone())
    }

    /// Checks that `embeddings` is `(b × d)` with `b ≥ 1` and finite values and `labels` is
    /// `(b,)` of an integer dtype the queue accepts; returns `b`.
    pub fn check_batch(&self, embeddings: &Tensor, labels: &Tensor) -> Result<usize> {
        let d = self.dim();
        let b = match embeddings.dims() {
            &[b, dd] if dd == d && b >= 1 => b,
            _ => {
                return Err(MemoryError::EmbeddingShape {
                    dim: d,
                    shape: embeddings.dims().to_vec(),
                });
            }
        };
        if labels.dims() != [b] {
            return Err(MemoryError::LabelShape {
                rows: b,
                embeddings: embeddings.dims().to_vec(),
                shape: labels.dims().to_vec(),
            });
        }
        if !matches!(labels.dtype(), DType::I64 | DType::U32 | DType::U8) {
            return Err(MemoryError::LabelDType(labels.dtype()));
        }
        check_finite("embeddings", embeddings)?;
        Ok(b)
    }

    /// Appends a batch: `embeddings (b × d)` (any float dtype, converted to the queue's),
    /// `labels (b,)` (`i64`, `u32` or `u8`) and the iteration it was computed at. Rows beyond
    /// the free space overwrite the oldest entries; of a batch with `b > capacity` only the
    /// newest `capacity` rows are kept. Errors (shape, dtype, `b = 0`, non-finite values) leave
    /// the queue unchanged.
    pub fn enqueue(&mut self, embeddings: &Tensor, labels: &Tensor, iteration: u64) -> Result<()> {
        self.check_batch(embeddings, labels)?;
        self.write_batch(embeddings, labels, iteration)
    }

    /// [`EmbeddingQueue::enqueue`] of a batch that already passed
    /// [`EmbeddingQueue::check_batch`].
    pub(crate) fn write_batch(
        &mut self,
        embeddings: &Tensor,
        labels: &Tensor,
        iteration: u64,
    ) -> Result<()> {
        let (b, cap) = (embeddings.dims()[0], self.capacity());
        let kept = b.min(cap);
        let skip = b - kept;
        let dev = self.device().clone();
        // Fresh copies, so that the in-place writes below never read their own storage.
        let emb = embeddings
            .narrow(0, skip, kept)?
            .to_device(&dev)?
            .to_dtype(self.dtype())?
            .copy()?;
        let lab = labels
            .narrow(0, skip, kept)?
            .to_device(&dev)?
            .to_dtype(DType::I64)?
            .copy()?;
        let its = Tensor::full(iteration as i64, kept, &dev)?;
        let start = (self.write_position + skip) % cap;
        for (dst, src) in [
            (&self.embeddings, &emb),
            (&self.labels, &lab),
            (&self.iterations, &its),
        ] {
            ring_write(dst, src, start)?;
        }
        self.last_rows = (0..b)
            .map(|i| (i >= skip).then_some((self.write_position + i) % cap))
            .collect();
        self.filled |= self.write_position + b >= cap;
        self.write_position = (self.write_position + b) % cap;
        Ok(())
    }

    /// Rewrites the stored embeddings with `matcher`'s adaptation to `batch` (XBN, adaptive
    /// XBN, or nothing for [`xbn_core::Identity`]), on the device without a host round trip.
    /// The matcher is called even on an empty queue (adaptive XBN still observes the batch).
    /// On error the queue is unchanged.
    pub fn adapt(&mut self, matcher: &mut dyn MomentMatcher, batch: &Tensor) -> Result<()> {
        let memory = self.embeddings();
        let adapted = matcher.adapt(&memory, batch)?;
        if adapted.id() == memory.id() || memory.dims()[0] == 0 {
            return Ok(());
        }
        if adapted.dims() != memory.dims() {
            return Err(MemoryError::AdaptedShape {
                expected: memory.dims().to_vec(),
                got: adapted.dims().to_vec(),
            });
        }
        let adapted = adapted.to_device(self.device())?.to_dtype(self.dtype())?;
        if self.len() == self.capacity() {
            self.embeddings = adapted.contiguous()?;
        } else {
            self.embeddings.slice_set(&adapted.contiguous()?, 0, 0)?;
        }
        Ok(())
    }
}
