//! The CPU kernels (`xbn_nn::kernels`) in `f32` against PyTorch's numbers
//! (`reference/gen_kernel_reference.py` → `tests/data/kernel_reference.safetensors`): forward
//! outputs and the gradients of `sum(y · g)` with respect to every input, plus the batch moments
//! of BatchNorm in train mode. The kernels are channels-last: PyTorch's channels-first inputs,
//! outputs and gradients `(N, C, H, W)` are permuted to `(N, H, W, C)` here.
//!
//! Tolerance rule (absolute-or-relative): every element must satisfy
//! `|got − want| ≤ 1e-4 · max(1, |want|)`, i.e. an absolute error of `1e-4` for values of magnitude
//! up to 1 and a relative error of `1e-4` above.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use xbn_nn::kernels::{BatchNormStatistics, Conv2dParams, batch_norm2d, conv2d, max_pool2d};

const TOLERANCE: f64 = 1e-4;

struct Reference {
    tensors: HashMap<String, Tensor>,
}

impl Reference {
    fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/kernel_reference.safetensors"
        );
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .unwrap_or_else(|e| panic!("loading {path}: {e}"));
        Self { tensors }
    }

    fn get(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("reference tensor {name} is missing"))
    }

    /// An `f32` input or expected value.
    fn f32(&self, name: &str) -> Tensor {
        let t = self.get(name);
        assert_eq!(t.dtype(), DType::F32, "{name} should be f32");
        t.clone()
    }

    /// A 4-D `f32` tensor of PyTorch's `(N, C, H, W)`, permuted to channels-last.
    fn f32_last(&self, name: &str) -> Tensor {
        let t = self.f32(name);
        assert_eq!(t.rank(), 4, "{name} should be rank 4");
        t.permute((0, 2, 3, 1)).unwrap().contiguous().unwrap()
    }

    fn ints(&self, name: &str) -> Vec<usize> {
        self.get(name)
            .to_vec1::<i64>()
            .unwrap()
            .into_iter()
            .map(|v| usize::try_from(v).expect("non-negative"))
            .collect()
    }

    fn floats(&self, name: &str) -> Vec<f64> {
        self.get(name).to_vec1::<f64>().unwrap()
    }

    /// The number of cases of each op, `[conv, bn, pool]`.
    fn counts(&self) -> Vec<usize> {
        self.ints("meta.counts")
    }
}

fn values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Asserts `got` matches `want` in shape and within the tolerance rule above, naming the case
/// and the tensor otherwise.
fn assert_close(case: &str, tensor: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(
        got.dims(),
        want.dims(),
        "{case}.{tensor}: shape {:?}, reference {:?}",
        got.dims(),
        want.dims()
    );
    let (g, w) = (values(got), values(want));
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
        let excess = (a - b).abs() / b.abs().max(1.0);
        // A NaN fails and counts as the worst error.
        let fails = excess.is_nan() || excess > TOLERANCE;
        let worse = match worst {
            None => true,
            Some((_, e)) => !e.is_nan() && (excess.is_nan() || excess > e),
        };
        if fails && worse {
            worst = Some((i, excess));
        }
    }
    if let Some((i, excess)) = worst {
        panic!(
            "{case}.{tensor} (shape {:?}): element {i} is {} but PyTorch gives {} \
             (error {excess:.3e} of max(1, |want|), tolerance {TOLERANCE:e})",
            want.dims(),
            g[i],
            w[i]
        );
    }
}

fn var(t: &Tensor) -> Var {
    Var::from_tensor(t).unwrap()
}

/// `sum(y · g)` and its gradients with respect to `inputs`.
fn gradients(y: &Tensor, g: &Tensor, inputs: &[&Var], case: &str) -> Vec<Tensor> {
    let loss = y.mul(g).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    inputs
        .iter()
        .enumerate()
        .map(|(k, v)| {
            grads
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("{case}: no gradient for input {k}"))
                .clone()
        })
        .collect()
}

#[test]
fn reference_file_has_every_case() {
    let reference = Reference::load();
    let counts = reference.counts();
    assert_eq!(counts.len(), 3);
    assert!(
        counts.iter().all(|&c| c >= 6),
        "expected at least 6 cases per kernel, got {counts:?}"
    );
}

#[test]
fn conv2d_matches_pytorch() {
    let reference = Reference::load();
    let cases = reference.counts()[0];
    for i in 0..cases {
        let case = format!("conv.{i}");
        let x = var(&reference.f32_last(&format!("{case}.x")));
        let w = var(&reference.f32(&format!("{case}.w")));
        let g = reference.f32_last(&format!("{case}.g"));
        let &[stride, padding] = reference.ints(&format!("{case}.params")).as_slice() else {
            panic!("{case}.params should be [stride, padding]");
        };
        let y = conv2d(
            x.as_tensor(),
            w.as_tensor(),
            Conv2dParams { stride, padding },
        )
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_close(&case, "y", &y, &reference.f32_last(&format!("{case}.y")));
        let grads = gradients(&y, &g, &[&x, &w], &case);
        assert_close(
            &case,
            "dx",
            &grads[0],
            &reference.f32_last(&format!("{case}.dx")),
        );
        assert_close(
            &case,
            "dw",
            &grads[1],
            &reference.f32(&format!("{case}.dw")),
        );
    }
}

#[test]
fn batch_norm2d_matches_pytorch() {
    let reference = Reference::load();
    let cases = reference.counts()[1];
    let (mut train_cases, mut eval_cases, mut relu_cases) = (0, 0, 0);
    for i in 0..cases {
        let case = format!("bn.{i}");
        let x = var(&reference.f32_last(&format!("{case}.x")));
        let gamma = var(&reference.f32(&format!("{case}.gamma")));
        let beta = var(&reference.f32(&format!("{case}.beta")));
        let g = reference.f32_last(&format!("{case}.g"));
        let &[eps, train, relu] = reference.floats(&format!("{case}.params")).as_slice() else {
            panic!("{case}.params should be [eps, train, relu]");
        };
        let (train, relu) = (train != 0.0, relu != 0.0);
        relu_cases += usize::from(relu);
        let (mean, var_) = if train {
            train_cases += 1;
            (None, None)
        } else {
            eval_cases += 1;
            (
                Some(reference.f32(&format!("{case}.running_mean"))),
                Some(reference.f32(&format!("{case}.running_var"))),
            )
        };
        let statistics = match (&mean, &var_) {
            (Some(mean), Some(var)) => BatchNormStatistics::Fixed { mean, var },
            _ => BatchNormStatistics::Batch,
        };
        let out = batch_norm2d(
            x.as_tensor(),
            gamma.as_tensor(),
            beta.as_tensor(),
            statistics,
            eps,
            relu,
        )
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_close(
            &case,
            "y",
            &out.output,
            &reference.f32_last(&format!("{case}.y")),
        );
        match (&out.batch_moments, train) {
            (Some((mean, var)), true) => {
                assert_close(
                    &case,
                    "batch_mean",
                    mean,
                    &reference.f32(&format!("{case}.batch_mean")),
                );
                assert_close(
                    &case,
                    "batch_var",
                    var,
                    &reference.f32(&format!("{case}.batch_var")),
                );
            }
            (None, false) => {}
            (moments, _) => panic!(
                "{case}: train {train} but batch moments present: {}",
                moments.is_some()
            ),
        }
        let grads = gradients(&out.output, &g, &[&x, &gamma, &beta], &case);
        assert_close(
            &case,
            "dx",
            &grads[0],
            &reference.f32_last(&format!("{case}.dx")),
        );
        assert_close(
            &case,
            "dgamma",
            &grads[1],
            &reference.f32(&format!("{case}.dgamma")),
        );
        assert_close(
            &case,
            "dbeta",
            &grads[2],
            &reference.f32(&format!("{case}.dbeta")),
        );
    }
    assert!(
        train_cases > 0 && eval_cases > 0 && relu_cases > 0 && relu_cases < cases,
        "the BN cases should cover train/eval with and without ReLU"
    );
}

#[test]
fn max_pool2d_matches_pytorch() {
    let reference = Reference::load();
    let cases = reference.counts()[2];
    for i in 0..cases {
        let case = format!("pool.{i}");
        let x = var(&reference.f32_last(&format!("{case}.x")));
        let g = reference.f32_last(&format!("{case}.g"));
        let &[kernel, stride, padding] = reference.ints(&format!("{case}.params")).as_slice()
        else {
            panic!("{case}.params should be [kernel, stride, padding]");
        };
        let y = max_pool2d(x.as_tensor(), kernel, stride, padding)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_close(&case, "y", &y, &reference.f32_last(&format!("{case}.y")));
        let grads = gradients(&y, &g, &[&x], &case);
        assert_close(
            &case,
            "dx",
            &grads[0],
            &reference.f32_last(&format!("{case}.dx")),
        );
    }
}
