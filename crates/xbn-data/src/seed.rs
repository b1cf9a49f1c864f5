//! Deriving seeds: the one seeded-hash helper of the workspace.

/// The SplitMix64 finalizer, a bijective mix of 64 bits: nearby inputs (seed, seed + 1, …) give
/// unrelated outputs, so `splitmix64(seed ^ tag)` seeds independent streams.
///
/// ```
/// use xbn_data::seed::splitmix64;
/// assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
/// assert_ne!(splitmix64(1), splitmix64(2));
/// ```
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of the augmentation of the image at `position` in a batch whose seed is
/// `batch_seed`: each image draws from its own RNG, so one image's view can be rendered again
/// from its seed alone ([`crate::loader::render_views`]).
///
/// ```
/// use xbn_data::seed::item_seed;
/// assert_ne!(item_seed(7, 0), item_seed(7, 1));
/// assert_ne!(item_seed(7, 0), item_seed(8, 0));
/// ```
pub fn item_seed(batch_seed: u64, position: usize) -> u64 {
    splitmix64(batch_seed ^ splitmix64((position as u64) ^ 0x1A6E_5EED_0000_0000))
}
