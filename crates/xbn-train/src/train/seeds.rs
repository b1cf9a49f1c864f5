//! Deterministic per-iteration seeds: every random choice of iteration `t` (which classes and
//! images, which augmentation, which warm-start images) is drawn from a generator seeded by
//! `(run seed, purpose, t)`, so a run resumed at iteration `t` sees exactly the data a straight
//! run would have seen.

use xbn_data::seed::splitmix64;

/// What a derived seed is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `P × K` sampling.
    Sampling = 1,
    /// Image augmentation.
    Augmentation = 2,
    /// Memory warm start.
    WarmStart = 3,
    /// Sample of memory entries for the drift diagnostic.
    Drift = 4,
    /// Model initialization.
    Init = 5,
}

/// SplitMix64 mixing of `(seed, purpose, iteration)` into one 64-bit seed.
///
/// ```
/// use xbn_train::train::seeds::{derive, Purpose};
/// assert_eq!(derive(7, Purpose::Sampling, 3), derive(7, Purpose::Sampling, 3));
/// assert_ne!(derive(7, Purpose::Sampling, 3), derive(7, Purpose::Sampling, 4));
/// assert_ne!(derive(7, Purpose::Sampling, 3), derive(7, Purpose::Augmentation, 3));
/// ```
pub fn derive(seed: u64, purpose: Purpose, iteration: usize) -> u64 {
    splitmix64(
        seed ^ (purpose as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (iteration as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}
