//! Fuzzing the embedding-file readers (`load_embeddings`: `.npy`, safetensors, labels files)
//! with arbitrary bytes, structured headers and mutated valid files (issue 16, item 5).
//!
//! Requirements: no panic, a typed error that names the file at fault, and no allocation far
//! beyond the input's size (a header claiming 10¹² elements is refused before allocating): a
//! counting global allocator records the largest single request, which must stay under
//! [`ALLOC_LIMIT`] (every input here is under 64 KiB).
//!
//! Cases per property: `PROPTEST_CASES` (default [`DEFAULT_CASES`], about 8 s for the whole
//! file in a debug build on a busy 2-core machine), e.g. `PROPTEST_CASES=20000 cargo test -p xbn-eval --test
//! fuzz_readers --release` for a longer run by hand. Failing inputs are not persisted to
//! files: keep one as a literal in `regressions` below.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{DType, Device, Tensor};
use proptest::prelude::*;
use proptest::test_runner::Config;
use xbn_eval::{EvalError, load_embeddings};

/// Records the largest single allocation request of the process.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// No single allocation may exceed this (inputs are under 64 KiB).
const ALLOC_LIMIT: usize = 64 << 20;

/// Default number of cases per property.
const DEFAULT_CASES: u32 = 1024;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Writes `bytes` as `name` in a fresh folder, plus optional labels, and loads it. Panics (a
/// property failure) unless the result is `Ok` or a typed error naming one of the files, and
/// unless every allocation stayed under [`ALLOC_LIMIT`].
fn load(name: &str, bytes: &[u8], labels: Option<(&str, &[u8])>) -> Result<(), EvalError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write input");
    let label_path = labels.map(|(n, b)| {
        let p = dir.path().join(n);
        std::fs::write(&p, b).expect("write labels");
        p
    });
    let result = load_embeddings(&path, label_path.as_deref(), &Device::Cpu);
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= ALLOC_LIMIT,
        "an allocation of {largest} bytes for a {}-byte input",
        bytes.len()
    );
    match result {
        Ok(set) => {
            let (n, d) = set.embeddings.dims2().expect("(n × d) embeddings");
            assert!(n > 0 && d > 0);
            assert_eq!(set.labels.len(), n);
            Ok(())
        }
        Err(e) => {
            let msg = e.to_string();
            let names: Vec<PathBuf> = std::iter::once(path.clone())
                .chain(label_path.clone())
                .chain(std::iter::once(xbn_eval::npy_labels_path(&path)))
                .collect();
            assert!(
                names.iter().any(|p| msg.contains(&p.display().to_string())),
                "error does not name the file: {msg}"
            );
            assert!(
                !matches!(e, EvalError::Candle(_)),
                "untyped candle error: {msg}"
            );
            Err(e)
        }
    }
}

/// A valid `.npy` of `t` (candle writes numpy's format, version 1.0).
fn npy_bytes(t: &Tensor) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("x.npy");
    t.write_npy(&p).expect("write npy");
    std::fs::read(&p).expect("read npy")
}

/// A valid `.npy` header (version 1.0) with the given dict text, padded as numpy pads.
fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A valid safetensors file with `embeddings (n × d)` f32 and `labels (n)` i64.
fn safetensors_bytes(n: usize, d: usize) -> Vec<u8> {
    let e = Tensor::arange(0f32, (n * d) as f32, &Device::Cpu)
        .and_then(|t| t.reshape((n, d)))
        .expect("embeddings");
    let l = Tensor::arange(0i64, n as i64, &Device::Cpu).expect("labels");
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("x.safetensors");
    candle_core::safetensors::save(
        &[("embeddings".to_string(), e), ("labels".to_string(), l)]
            .into_iter()
            .collect(),
        &p,
    )
    .expect("save");
    std::fs::read(&p).expect("read safetensors")
}

/// A safetensors file whose JSON header is `json` (length-prefixed), followed by `data`.
fn safetensors_with_header(json: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A byte-level mutation of a valid file.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, value: u8 },
    Truncate { to: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
        any::<usize>().prop_map(|to| Mutation::Truncate { to }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..32).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len().max(1);
        match m {
            Mutation::Flip { at, bit } => {
                if let Some(b) = bytes.get_mut(at % n) {
                    *b ^= 1 << bit;
                }
            }
            Mutation::Set { at, value } => {
                if let Some(b) = bytes.get_mut(at % n) {
                    *b = *value;
                }
            }
            Mutation::Truncate { to } => bytes.truncate(to % n),
            Mutation::Insert { at, bytes: new } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Remove { at, len } => {
                let at = at % n;
                let end = (at + len).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
        }
    }
    bytes
}

/// Dimensions a hostile header might claim: small, zero, huge, overflowing.
fn dim() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0usize..6).prop_map(|n| n.to_string()),
        1 => Just("1000000000000".to_string()),
        1 => Just(usize::MAX.to_string()),
        1 => Just("18446744073709551616".to_string()),
        1 => Just(u32::MAX.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => "[0-9a-zL -]{0,6}",
    ]
}

fn descr() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "<f4", "<f8", "<f2", "<i8", "<i4", "<i2", "|u1", "<u4", "|b1", ">f4", "<c8", "|i1",
            "<u8", "f4", "=f8", "<M8", "",
        ])
        .prop_map(str::to_string),
        "[<>=|]?[a-zA-Z?][0-9]{0,2}",
    ]
}

fn npy_header() -> impl Strategy<Value = String> {
    (
        descr(),
        prop::sample::select(vec!["False", "True", "0", "'no'"]),
        prop::collection::vec(dim(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(descr, fortran, dims, trailing)| {
            let mut shape = dims.join(", ");
            if dims.len() == 1 || (trailing && !dims.is_empty()) {
                shape.push(',');
            }
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({shape}), }}")
        })
}

fn st_dtype() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "F32", "F64", "F16", "BF16", "I64", "I32", "I16", "U32", "U8", "BOOL", "U64", "F8_E4M3",
        "X",
    ])
}

fn st_header() -> impl Strategy<Value = String> {
    (
        st_dtype(),
        prop::collection::vec(dim(), 0..4),
        any::<u32>(),
        any::<u32>(),
        st_dtype(),
        dim(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(dt, shape, a, b, ldt, ln, with_labels, empty)| {
            // Empty data (equal offsets) with huge dimensions is where candle's strides overflow.
            let (a, b) = (a % 256, if empty { a % 256 } else { b % 256 });
            let mut json = format!(
                r#"{{"embeddings":{{"dtype":"{dt}","shape":[{}],"data_offsets":[{},{}]}}"#,
                shape.join(","),
                a.min(b),
                a.max(b)
            );
            if with_labels {
                json.push_str(&format!(
                    r#","labels":{{"dtype":"{ldt}","shape":[{ln}],"data_offsets":[{},256]}}"#,
                    a.max(b)
                ));
            }
            json.push('}');
            json
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn npy_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), magic in any::<bool>()) {
        let mut input = if magic { b"\x93NUMPY\x01\x00".to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let _ = load("x.npy", &input, Some(("y.npy", &npy_bytes(&Tensor::new(&[0i64], &Device::Cpu).expect("labels"))[..])));
    }

    #[test]
    fn npy_structured_headers(dict in npy_header(), data in prop::collection::vec(any::<u8>(), 0..256)) {
        let input = npy_with_header(&dict, &data);
        let _ = load("x.npy", &input, None);
    }

    #[test]
    fn npy_mutated(n in 1usize..6, d in 1usize..6, f64s in any::<bool>(),
                   mutations in prop::collection::vec(mutation(), 1..4)) {
        let x = Tensor::arange(0f32, (n * d) as f32, &Device::Cpu)
            .and_then(|t| t.reshape((n, d)))
            .and_then(|t| t.to_dtype(if f64s { DType::F64 } else { DType::F32 }))
            .expect("embeddings");
        let y = Tensor::arange(0i64, n as i64, &Device::Cpu).expect("labels");
        let (xb, yb) = (npy_bytes(&x), npy_bytes(&y));
        // Mutate the embeddings, then the labels file.
        let _ = load("x.npy", &mutate(xb.clone(), &mutations), Some(("x_labels.npy", &yb)));
        let _ = load("x.npy", &xb, Some(("x_labels.npy", &mutate(yb, &mutations))));
    }

    #[test]
    fn safetensors_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = load("x.safetensors", &bytes, None);
    }

    #[test]
    fn safetensors_structured_headers(json in st_header(), data in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = load("x.safetensors", &safetensors_with_header(&json, &data), None);
    }

    #[test]
    fn safetensors_mutated(n in 1usize..6, d in 1usize..6, mutations in prop::collection::vec(mutation(), 1..4),
                           as_labels in any::<bool>()) {
        let bytes = mutate(safetensors_bytes(n, d), &mutations);
        if as_labels {
            let x = npy_bytes(&Tensor::ones((n, d), DType::F32, &Device::Cpu).expect("ones"));
            let _ = load("x.npy", &x, Some(("l.safetensors", &bytes)));
        } else {
            let _ = load("x.safetensors", &bytes, None);
        }
    }
}

/// Inputs kept as regression cases (each was refused only after allocating what it claimed,
/// or panicked, before the bounded reader).
mod regressions {
    use super::*;

    fn refused(r: Result<(), EvalError>) -> String {
        match r {
            Err(EvalError::Format { reason, .. }) => reason,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    /// A header claiming 10¹² × 10¹² f32 values (the product overflows usize).
    #[test]
    fn npy_shape_product_overflows() {
        let input = npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }",
            &[0; 16],
        );
        let reason = refused(load("x.npy", &input, None));
        assert!(reason.contains("overflows"), "{reason}");
    }

    /// An empty array whose other dimensions overflow when multiplied (found by
    /// `npy_structured_headers`: candle's stride computation panicked).
    #[test]
    fn npy_empty_with_overflowing_strides() {
        let input = npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1000000000000, 4294967295), }",
            &[],
        );
        let reason = refused(load("x.npy", &input, None));
        assert!(reason.contains("overflows"), "{reason}");
    }

    /// A header claiming 10¹² f32 values (4 TB) in a 80-byte file.
    #[test]
    fn npy_claims_a_trillion_elements() {
        let input = npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }",
            &[0; 16],
        );
        let reason = refused(load("x.npy", &input, None));
        assert!(reason.contains("4000000000000 bytes"), "{reason}");
    }

    /// A version-2 header length of 4 GiB.
    #[test]
    fn npy_header_length_of_4_gib() {
        let mut input = b"\x93NUMPY\x02\x00\xff\xff\xff\xff".to_vec();
        input.extend_from_slice(b"{'descr': '<f4'}");
        let reason = refused(load("x.npy", &input, None));
        assert!(reason.contains("4294967295"), "{reason}");
    }

    /// A safetensors header claiming 10¹² embeddings.
    #[test]
    fn safetensors_claims_a_trillion_elements() {
        let json =
            r#"{"embeddings":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,16]}}"#;
        let r = load(
            "x.safetensors",
            &safetensors_with_header(json, &[0; 16]),
            None,
        );
        assert!(matches!(r, Err(EvalError::Format { .. })), "{r:?}");
    }

    /// The same empty tensor with overflowing strides in a safetensors file.
    #[test]
    fn safetensors_empty_with_overflowing_strides() {
        let json = r#"{"embeddings":{"dtype":"F32","shape":[0,1000000000000,4294967295],"data_offsets":[0,0]}}"#;
        let reason = refused(load(
            "x.safetensors",
            &safetensors_with_header(json, &[]),
            None,
        ));
        assert!(reason.contains("overflows"), "{reason}");
    }

    /// Truncated data and a Fortran-ordered matrix are refused with the reason.
    #[test]
    fn npy_truncated_and_fortran() {
        let input = npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &[0; 20],
        );
        assert!(refused(load("x.npy", &input, None)).contains("needs 24 bytes"));
        let input = npy_with_header(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
            &[0; 24],
        );
        assert!(refused(load("x.npy", &input, None)).contains("Fortran"));
    }

    /// The valid files the mutations start from load.
    #[test]
    fn valid_inputs_load() {
        let x = Tensor::ones((3, 2), DType::F32, &Device::Cpu).expect("ones");
        let y = Tensor::new(&[0i64, 1, 1], &Device::Cpu).expect("labels");
        load(
            "x.npy",
            &npy_bytes(&x),
            Some(("x_labels.npy", &npy_bytes(&y))),
        )
        .expect("npy");
        load("x.safetensors", &safetensors_bytes(3, 2), None).expect("safetensors");
    }
}
