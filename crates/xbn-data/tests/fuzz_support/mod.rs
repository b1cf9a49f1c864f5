//! Shared by the fuzz targets (issue 16, item 5): the number of cases per target and a
//! strategy that mutates a valid file. Property tests with `proptest` on stable Rust; each
//! target runs [`cases`] inputs (a few seconds in CI); `XBN_FUZZ_CASES=200000 cargo test -p
//! xbn-data --test fuzz_parsers` runs longer by hand.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The proptest configuration of a fuzz target: `default` cases, or `XBN_FUZZ_CASES`; no
/// failure files (inputs found are kept as literal regression tests instead).
pub fn config(default: u32) -> Config {
    let cases = std::env::var("XBN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

/// Values that break size fields: zero, one, the largest 8-, 16-, 31- and 32-bit numbers, and
/// 10^12 truncated to 32 bits.
const INTERESTING: [u32; 8] = [
    0,
    1,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0xd4a5_1000,
    0x8000_0000,
];

/// One mutation of a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR the byte at `at % len` with a non-zero mask.
    Flip(usize, u8),
    /// Overwrite the 4 bytes at `at % len` with an interesting value, big- or little-endian.
    Word(usize, usize, bool),
    /// Insert bytes at `at % (len + 1)`.
    Insert(usize, Vec<u8>),
    /// Remove up to `n` bytes at `at % len`.
    Remove(usize, usize),
    /// Cut the input to `at % (len + 1)` bytes.
    Truncate(usize),
    /// Copy up to 64 bytes from one place to another (duplicates structure).
    Splice(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..).prop_map(|(a, m)| Mutation::Flip(a, m)),
        3 => (any::<usize>(), 0..INTERESTING.len(), any::<bool>())
            .prop_map(|(a, v, be)| Mutation::Word(a, v, be)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(a, n)| Mutation::Remove(a, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<usize>(), 1usize..64)
            .prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
    ]
}

/// Applies `mutations` to `bytes`.
pub fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::Flip(at, mask) if len > 0 => bytes[at % len] ^= mask,
            Mutation::Word(at, v, be) if len > 0 => {
                let word = if *be {
                    INTERESTING[*v].to_be_bytes()
                } else {
                    INTERESTING[*v].to_le_bytes()
                };
                let at = at % len;
                for (k, b) in word.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + k) {
                        *slot = *b;
                    }
                }
            }
            Mutation::Insert(at, new) => {
                let at = at % (len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Remove(at, n) if len > 0 => {
                let at = at % len;
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Truncate(at) => bytes.truncate(at % (len + 1)),
            Mutation::Splice(from, to, n) if len > 0 => {
                let from = from % len;
                let piece: Vec<u8> = bytes[from..(from + n).min(len)].to_vec();
                let to = to % len;
                bytes.splice(to..to, piece);
            }
            _ => {}
        }
    }
    bytes
}

/// `valid` with 1 to 8 random mutations.
pub fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(mutation(), 1..8).prop_map(move |m| apply(valid.clone(), &m))
}

/// Arbitrary bytes, up to `max` long.
pub fn arbitrary(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// A mutated valid input (mostly) or arbitrary bytes.
pub fn input(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let max = valid.len() * 2 + 16;
    prop_oneof![4 => mutated(valid), 1 => arbitrary(max)]
}
