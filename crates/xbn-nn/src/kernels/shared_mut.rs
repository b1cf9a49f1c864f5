//! Writing disjoint parts of one buffer from several rayon tasks.

/// A raw view of a mutable slice that rayon tasks may share, for writes to index sets that the
/// caller guarantees are disjoint between tasks (e.g. the per-image column blocks of a wide
/// patch matrix, which interleave and so cannot be split with `chunks_mut`).
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: the view only hands out sub-slices through `slice`, whose callers promise that tasks
// touch disjoint ranges; `T: Send` values may then be written from any thread.
unsafe impl<T: Send> Send for SharedMut<T> {}
// SAFETY: as above; shared access never reads or writes overlapping ranges concurrently.
unsafe impl<T: Send> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    /// Views `slice` for the lifetime of the parallel section that uses it.
    pub(crate) fn new(slice: &mut [T]) -> Self {
        Self {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
        }
    }

    /// The sub-slice `start..start + len`.
    ///
    /// # Safety
    /// The range must lie inside the buffer, the buffer must outlive the returned slice, and no
    /// other task may access an overlapping range while the slice is alive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len, "SharedMut: range out of bounds");
        // SAFETY: in bounds (checked above); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}
