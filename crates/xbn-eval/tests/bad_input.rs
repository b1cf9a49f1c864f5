//! Bad input gives typed errors that name the input, file and shape at fault.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use xbn_eval::{EvalError, EvalOptions, Protocol, evaluate, evaluate_files, load_embeddings};

fn dev() -> Device {
    xbn_core::test_util::test_device()
}

fn x4() -> Tensor {
    Tensor::new(&[[1f32, 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]], &dev()).unwrap()
}

fn y4() -> Tensor {
    Tensor::new(&[0i64, 0, 1, 1], &Device::Cpu).unwrap()
}

fn loo(x: &Tensor, y: &Tensor, ks: &[usize]) -> Result<xbn_eval::EvalReport, EvalError> {
    evaluate(
        x,
        y,
        None,
        Protocol::LeaveOneOut,
        ks,
        &EvalOptions::default(),
    )
}

#[test]
fn mismatched_lengths() {
    let y = Tensor::new(&[0i64, 0, 1], &Device::Cpu).unwrap();
    let err = loo(&x4(), &y, &[1]).unwrap_err();
    assert!(
        matches!(
            err,
            EvalError::LengthMismatch {
                embeddings: 4,
                labels: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn non_finite_values_are_located() {
    let x = Tensor::new(
        &[[1f32, 0.], [0.9, 0.1], [0., f32::NAN], [0.1, f32::INFINITY]],
        &dev(),
    )
    .unwrap();
    let err = loo(&x, &y4(), &[1]).unwrap_err();
    assert!(
        matches!(
            err,
            EvalError::NonFinite {
                count: 2,
                row: 2,
                col: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn empty_sets() {
    let x = Tensor::zeros((0, 4), DType::F32, &dev()).unwrap();
    let y = Tensor::zeros(0, DType::I64, &Device::Cpu).unwrap();
    assert!(matches!(
        loo(&x, &y, &[1]).unwrap_err(),
        EvalError::Empty { .. }
    ));
    // Leave-one-out over a single row has no reference at all.
    let x = Tensor::new(&[[1f32, 0.]], &dev()).unwrap();
    let y = Tensor::new(&[0i64], &Device::Cpu).unwrap();
    assert!(matches!(
        loo(&x, &y, &[1]).unwrap_err(),
        EvalError::Empty { .. }
    ));
}

#[test]
fn k_above_the_reference_count_is_capped_and_said() {
    let r = loo(&x4(), &y4(), &[1, 3, 10]).unwrap();
    assert_eq!(r.recall, vec![1.0, 1.0, 1.0]);
    assert_eq!(r.neighbours, 3);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("recall@10"));
    assert!(r.to_json().contains("\"warnings\""));
}

#[test]
fn invalid_k_lists() {
    assert!(matches!(
        loo(&x4(), &y4(), &[]).unwrap_err(),
        EvalError::InvalidK { .. }
    ));
    assert!(matches!(
        loo(&x4(), &y4(), &[1, 0]).unwrap_err(),
        EvalError::InvalidK { .. }
    ));
}

#[test]
fn wrong_dtypes() {
    let xi = Tensor::new(&[[1i64, 0], [0, 1]], &dev()).unwrap();
    let y = Tensor::new(&[0i64, 0], &Device::Cpu).unwrap();
    assert!(matches!(
        loo(&xi, &y, &[1]).unwrap_err(),
        EvalError::WrongDType { .. }
    ));
    let yf = Tensor::new(&[0f32, 0., 1., 1.], &Device::Cpu).unwrap();
    let err = loo(&x4(), &yf, &[1]).unwrap_err();
    assert!(
        matches!(&err, EvalError::WrongDType { what, .. } if what == "query labels"),
        "{err}"
    );
}

#[test]
fn zero_rows_have_no_cosine() {
    let x = Tensor::new(&[[1f32, 0.], [0., 0.], [0., 1.]], &dev()).unwrap();
    let y = Tensor::new(&[0i64, 0, 1], &Device::Cpu).unwrap();
    assert!(matches!(
        loo(&x, &y, &[1]).unwrap_err(),
        EvalError::ZeroNorm { row: 1, .. }
    ));
}

#[test]
fn protocol_and_gallery_must_agree() {
    let (x, y) = (x4(), y4());
    let o = EvalOptions::default();
    let err = evaluate(&x, &y, None, Protocol::QueryGallery, &[1], &o).unwrap_err();
    assert!(matches!(err, EvalError::Protocol(_)));
    let err = evaluate(&x, &y, Some((&x, &y)), Protocol::LeaveOneOut, &[1], &o).unwrap_err();
    assert!(matches!(err, EvalError::Protocol(_)));
    let g = Tensor::new(&[[1f32, 0., 0.]], &dev()).unwrap();
    let gl = Tensor::new(&[0i64], &Device::Cpu).unwrap();
    let err = evaluate(&x, &y, Some((&g, &gl)), Protocol::QueryGallery, &[1], &o).unwrap_err();
    assert!(matches!(err, EvalError::DimMismatch { .. }));
}

fn write_st(path: &Path, tensors: &[(&str, Tensor)]) {
    let map: HashMap<String, Tensor> = tensors
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    candle_core::safetensors::save(&map, path).unwrap();
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cpu = Device::Cpu;
    let x = Tensor::new(&[[1f32, 0.], [0., 1.]], &cpu).unwrap();
    let o = EvalOptions::default();
    let run = |p: &Path| evaluate_files(p, None, Protocol::LeaveOneOut, &[1], &o).unwrap_err();

    // Float labels in a safetensors file.
    let p = dir.path().join("float_labels.safetensors");
    write_st(
        &p,
        &[
            ("embeddings", x.clone()),
            ("labels", Tensor::new(&[0f32, 1.], &cpu).unwrap()),
        ],
    );
    let err = run(&p);
    assert!(
        matches!(&err, EvalError::WrongDType { what, .. } if what.contains("float_labels")),
        "{err}"
    );

    // No `labels` tensor.
    let p = dir.path().join("no_labels.safetensors");
    write_st(&p, &[("embeddings", x.clone())]);
    let err = run(&p);
    assert!(
        matches!(&err, EvalError::Format { path, .. } if path == &p),
        "{err}"
    );

    // Lengths disagree inside one file.
    let p = dir.path().join("short.safetensors");
    write_st(
        &p,
        &[
            ("embeddings", x.clone()),
            ("labels", Tensor::new(&[0i64], &cpu).unwrap()),
        ],
    );
    let err = run(&p);
    assert!(
        matches!(&err, EvalError::LengthMismatch { what, .. } if what.contains("short")),
        "{err}"
    );

    // .npy without its X_labels.npy.
    let p = dir.path().join("lonely.npy");
    x.write_npy(&p).unwrap();
    let err = run(&p);
    assert!(
        matches!(&err, EvalError::Io { path, .. } if path.ends_with("lonely_labels.npy")),
        "{err}"
    );

    // An explicit labels path works.
    let lp = dir.path().join("other.npy");
    Tensor::new(&[3i64, 3], &cpu)
        .unwrap()
        .write_npy(&lp)
        .unwrap();
    let set = load_embeddings(&p, Some(&lp), &cpu).unwrap();
    assert_eq!(set.labels, vec![3, 3]);

    // Unknown extension, and garbage bytes.
    let p = dir.path().join("emb.txt");
    std::fs::write(&p, "1 2 3").unwrap();
    assert!(matches!(run(&p), EvalError::Format { .. }));
    let p = dir.path().join("garbage.safetensors");
    std::fs::write(&p, [7u8; 40]).unwrap();
    assert!(matches!(run(&p), EvalError::Format { .. }));
}
