//! How the kernels split work over rayon's threads, deterministically.
//!
//! Every output element is written by exactly one task, and every reduction is summed in a fixed
//! order that does not depend on the number of threads, so a run is bit-for-bit repeatable.

/// Reductions over the batch (weight gradients) are split into at most this many fixed
/// chunks whose partial sums are added in chunk order.
pub(crate) const MAX_REDUCTION_CHUNKS: usize = 8;

/// The number of rayon worker threads.
pub(crate) fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// Items per chunk when `items` are split into at most `max_chunks` equal chunks.
pub(crate) fn chunk_len(items: usize, max_chunks: usize) -> usize {
    items.div_ceil(max_chunks.max(1)).max(1)
}
