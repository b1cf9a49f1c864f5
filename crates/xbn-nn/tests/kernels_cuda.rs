//! `kernels::conv2d` on a CUDA device against the CPU kernel: forward output and both gradients
//! of `L = sum(y · g)`, on random shapes (kernel 1, 3 and 7, stride 1 and 2, non-square maps,
//! several paddings), channels-last on both devices. Built with the `cudnn` feature this tests the cuDNN op
//! (`kernels/conv2d_cudnn.rs`); with `cuda` alone, the composed `conv2d_unfold` fallback.
//!
//! Runs only with `XBN_TEST_DEVICE=cuda` (or `cuda:N`); on any other device every test returns
//! at once, so the file passes on a CPU-only machine.
//!
//! Tolerance rule (absolute-or-relative), as in `kernels_reference.rs`: `f32` elements must
//! satisfy `|got − want| ≤ 1e-4 · max(1, |want|)`; `f64` ones the same with `1e-10`.

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use xbn_nn::kernels::{Conv2dParams, conv2d};

/// The CUDA device under test, or `None` (the test is skipped) when `XBN_TEST_DEVICE` names
/// another device.
fn cuda_device() -> Option<Device> {
    let device = xbn_core::test_util::test_device();
    if device.is_cuda() {
        Some(device)
    } else {
        eprintln!("skipped: XBN_TEST_DEVICE is not a CUDA device");
        None
    }
}

/// One convolution: input `(N, C, H, W)`, `O` filters of `k × k`.
#[derive(Debug, Clone, Copy)]
struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: usize,
    stride: usize,
    padding: usize,
}

impl Case {
    fn params(&self) -> Conv2dParams {
        Conv2dParams {
            stride: self.stride,
            padding: self.padding,
        }
    }

    fn out_dims(&self) -> [usize; 4] {
        let out = |len: usize| (len + 2 * self.padding - self.k) / self.stride + 1;
        [self.n, out(self.h), out(self.w), self.o]
    }
}

/// Fixed corner cases, then random ones: every kernel size in {1, 3, 7} with both strides.
fn cases(rng: &mut ChaCha8Rng) -> Vec<Case> {
    let mut cases = vec![
        // 1×1 stride 1 (cuDNN's GEMM-like paths), 1×1 stride 2 (ResNet downsample).
        Case {
            n: 2,
            c: 5,
            h: 6,
            w: 9,
            o: 7,
            k: 1,
            stride: 1,
            padding: 0,
        },
        Case {
            n: 3,
            c: 4,
            h: 9,
            w: 6,
            o: 8,
            k: 1,
            stride: 2,
            padding: 0,
        },
        // 3×3 "same", and stride 2 on odd, non-square maps.
        Case {
            n: 2,
            c: 3,
            h: 11,
            w: 8,
            o: 4,
            k: 3,
            stride: 1,
            padding: 1,
        },
        Case {
            n: 2,
            c: 6,
            h: 13,
            w: 10,
            o: 5,
            k: 3,
            stride: 2,
            padding: 1,
        },
        // The ResNet stem: 7×7, stride 2, padding 3.
        Case {
            n: 2,
            c: 3,
            h: 23,
            w: 17,
            o: 8,
            k: 7,
            stride: 2,
            padding: 3,
        },
        // Unpadded kernel as large as the map in one direction.
        Case {
            n: 1,
            c: 2,
            h: 7,
            w: 12,
            o: 3,
            k: 7,
            stride: 1,
            padding: 0,
        },
    ];
    for k in [1usize, 3, 7] {
        for stride in [1, 2] {
            for _ in 0..2 {
                let padding = rng.random_range(0..=k / 2 + 1);
                let min = (k + 1).saturating_sub(2 * padding).max(1);
                let (h, w) = loop {
                    let (h, w) = (
                        rng.random_range(min..min + 14),
                        rng.random_range(min..min + 14),
                    );
                    if h != w {
                        break (h, w);
                    }
                };
                cases.push(Case {
                    n: rng.random_range(1..=4),
                    c: rng.random_range(1..=9),
                    h,
                    w,
                    o: rng.random_range(1..=9),
                    k,
                    stride,
                    padding,
                });
            }
        }
    }
    cases
}

/// Standard-normal values scaled by `scale`, on the CPU.
fn normal(rng: &mut ChaCha8Rng, shape: &[usize], scale: f64, dtype: DType) -> Tensor {
    let len = shape.iter().product();
    let v: Vec<f64> = (0..len)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            scale * z
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// `(y, ∂L/∂x, ∂L/∂W)` of `L = sum(y · g)` on `device`, copied back to the CPU; `∂L/∂x` is
/// `None` when `x` is a plain tensor (no gradient asked for).
fn run(
    device: &Device,
    x: &Tensor,
    w: &Tensor,
    g: &Tensor,
    params: Conv2dParams,
    input_grad: bool,
) -> (Tensor, Option<Tensor>, Tensor) {
    let x = x.to_device(device).unwrap();
    let wv = Var::from_tensor(&w.to_device(device).unwrap()).unwrap();
    let xv = Var::from_tensor(&x).unwrap();
    let input = if input_grad { xv.as_tensor() } else { &x };
    let y = conv2d(input, wv.as_tensor(), params).unwrap();
    let g = g.to_device(device).unwrap();
    let grads = y.mul(&g).unwrap().sum_all().unwrap().backward().unwrap();
    let cpu = |t: &Tensor| t.to_device(&Device::Cpu).unwrap();
    let dx = grads.get(xv.as_tensor()).map(cpu);
    assert_eq!(
        dx.is_some(),
        input_grad,
        "input gradient present: {}",
        dx.is_some()
    );
    (cpu(&y), dx, cpu(grads.get(wv.as_tensor()).expect("dW")))
}

fn assert_close(case: &Case, dtype: DType, name: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.dims(), want.dims(), "{case:?} {dtype:?}: {name} shape");
    let values = |t: &Tensor| -> Vec<f64> {
        t.to_dtype(DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    let (got, want) = (values(got), values(want));
    let mut worst = (0.0f64, 0usize);
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        let excess = (a - b).abs() / (tol * b.abs().max(1.0));
        assert!(
            excess.is_finite(),
            "{case:?} {dtype:?}: {name}[{i}] = {a}, want {b}"
        );
        if excess > worst.0 {
            worst = (excess, i);
        }
    }
    let (excess, i) = worst;
    assert!(
        excess <= 1.0,
        "{case:?} {dtype:?}: {name}[{i}] = {}, CPU kernel {} (|Δ| {:.3e} > {tol:e}·max(1, |want|))",
        got[i],
        want[i],
        (got[i] - want[i]).abs()
    );
}

/// Compares every case in `dtype` at tolerance `tol`.
fn compare_with_cpu(device: &Device, dtype: DType, tol: f64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (index, case) in cases(&mut rng).into_iter().enumerate() {
        // Weights ~ N(0, 1/fan_in) keep y of order 1; g ~ N(0, 1) keeps ∂L/∂x of order 1.
        let fan_in = (case.c * case.k * case.k) as f64;
        let x = normal(&mut rng, &[case.n, case.h, case.w, case.c], 1.0, dtype);
        let w = normal(
            &mut rng,
            &[case.o, case.c, case.k, case.k],
            fan_in.powf(-0.5),
            dtype,
        );
        let g = normal(&mut rng, &case.out_dims(), 1.0, dtype);
        // Every third case leaves x without a gradient (the first layer's images).
        let input_grad = index % 3 != 2;
        let (y, dx, dw) = run(device, &x, &w, &g, case.params(), input_grad);
        let (y_cpu, dx_cpu, dw_cpu) = run(&Device::Cpu, &x, &w, &g, case.params(), input_grad);
        assert_eq!(y.dims(), case.out_dims(), "{case:?}: output shape");
        assert_close(&case, dtype, "y", &y, &y_cpu, tol);
        if let (Some(dx), Some(dx_cpu)) = (&dx, &dx_cpu) {
            assert_close(&case, dtype, "dx", dx, dx_cpu, tol);
        }
        assert_close(&case, dtype, "dW", &dw, &dw_cpu, tol);
    }
}

#[test]
fn conv2d_f32_on_cuda_matches_the_cpu_kernel() {
    let Some(device) = cuda_device() else { return };
    compare_with_cpu(&device, DType::F32, 1e-4, 20260);
}

#[test]
fn conv2d_f64_on_cuda_matches_the_cpu_kernel() {
    let Some(device) = cuda_device() else { return };
    compare_with_cpu(&device, DType::F64, 1e-10, 20261);
}

/// The backward algorithms are chosen among cuDNN's deterministic ones, so two runs on the same
/// inputs give bit-identical outputs and gradients.
#[test]
fn conv2d_on_cuda_is_repeatable() {
    let Some(device) = cuda_device() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(20262);
    for case in [
        Case {
            n: 8,
            c: 16,
            h: 14,
            w: 12,
            o: 32,
            k: 3,
            stride: 1,
            padding: 1,
        },
        Case {
            n: 8,
            c: 3,
            h: 33,
            w: 29,
            o: 16,
            k: 7,
            stride: 2,
            padding: 3,
        },
        Case {
            n: 8,
            c: 32,
            h: 9,
            w: 10,
            o: 16,
            k: 1,
            stride: 2,
            padding: 0,
        },
    ] {
        let x = normal(&mut rng, &[case.n, case.h, case.w, case.c], 1.0, DType::F32);
        let w = normal(&mut rng, &[case.o, case.c, case.k, case.k], 0.1, DType::F32);
        let g = normal(&mut rng, &case.out_dims(), 1.0, DType::F32);
        let bits = |t: &Tensor| -> Vec<u32> {
            let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            v.into_iter().map(f32::to_bits).collect()
        };
        let (y1, dx1, dw1) = run(&device, &x, &w, &g, case.params(), true);
        let (y2, dx2, dw2) = run(&device, &x, &w, &g, case.params(), true);
        assert!(bits(&y1) == bits(&y2), "{case:?}: y differs between runs");
        assert!(
            bits(&dx1.unwrap()) == bits(&dx2.unwrap()),
            "{case:?}: dx differs between runs"
        );
        assert!(
            bits(&dw1) == bits(&dw2),
            "{case:?}: dW differs between runs"
        );
    }
}
