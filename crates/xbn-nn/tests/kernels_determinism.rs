//! The convolution and BatchNorm kernels are bit-for-bit repeatable: their reductions (weight
//! gradient, per-channel moments and gradient sums) are summed over fixed chunks in chunk order
//! (`kernels/parallel.rs`), so two runs on the same inputs, and runs on thread pools of different
//! sizes, give identical outputs and gradients.

use candle_core::{DType, Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use xbn_nn::kernels::{BatchNormStatistics, Conv2dParams, batch_norm2d, conv2d};

/// `(y, ∂L/∂x, ∂L/∂W)` of `L = sum(y · g)`, as raw bits.
fn run(x: &Tensor, w: &Tensor, g: &Tensor, params: Conv2dParams) -> [Vec<u32>; 3] {
    let (xv, wv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap());
    let y = conv2d(xv.as_tensor(), wv.as_tensor(), params).unwrap();
    let grads = y.mul(g).unwrap().sum_all().unwrap().backward().unwrap();
    let bits = |t: &Tensor| -> Vec<u32> {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .into_iter()
            .map(f32::to_bits)
            .collect()
    };
    [
        bits(&y),
        bits(grads.get(xv.as_tensor()).expect("dx")),
        bits(grads.get(wv.as_tensor()).expect("dW")),
    ]
}

fn normal(rng: &mut ChaCha8Rng, shape: &[usize]) -> Tensor {
    let len = shape.iter().product();
    let v: Vec<f32> = (0..len).map(|_| StandardNormal.sample(rng)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

#[test]
fn conv2d_forward_and_backward_are_bit_identical_across_runs_and_thread_counts() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Batch 16 of 33×31 maps (≈ 1000 output rows per image, two images per tile at most): the
    // weight gradient is reduced over several chunks of tiles, 8 for the 3×3 and 1×1 kernels.
    for (k, stride, padding) in [(3, 1, 1), (1, 1, 0), (5, 2, 2)] {
        let params = Conv2dParams { stride, padding };
        let x = normal(&mut rng, &[16, 33, 31, 3]);
        let w = normal(&mut rng, &[4, 3, k, k]);
        let y_dims = conv2d(&x, &w, params).unwrap().dims().to_vec();
        let g = normal(&mut rng, &y_dims);
        assert_eq!(x.dtype(), DType::F32);

        let first = run(&x, &w, &g, params);
        let second = run(&x, &w, &g, params);
        for (name, (a, b)) in ["y", "dx", "dW"].iter().zip(first.iter().zip(&second)) {
            assert!(
                a == b,
                "k {k} s {stride} p {padding}: {name} differs between two runs"
            );
        }
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let other = pool.install(|| run(&x, &w, &g, params));
            for (name, (a, b)) in ["y", "dx", "dW"].iter().zip(first.iter().zip(&other)) {
                let differing = a.iter().zip(b).filter(|(p, q)| p != q).count();
                assert!(
                    differing == 0,
                    "k {k} s {stride} p {padding}: {name} differs in {differing} of {} \
                     elements on a pool of {threads} threads",
                    a.len()
                );
            }
        }
    }
}

/// `(y, ∂L/∂x, ∂L/∂γ, ∂L/∂β)` of `L = sum(y · g)` for BatchNorm with batch moments, as raw bits.
fn run_batch_norm(x: &Tensor, g: &Tensor) -> Vec<Vec<u32>> {
    let c = x.dim(3).unwrap();
    let xv = Var::from_tensor(x).unwrap();
    let gamma: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 / c as f32).collect();
    let gamma = Var::from_vec(gamma, c, &Device::Cpu).unwrap();
    let beta = Var::zeros(c, DType::F32, &Device::Cpu).unwrap();
    let out = batch_norm2d(
        xv.as_tensor(),
        gamma.as_tensor(),
        beta.as_tensor(),
        BatchNormStatistics::Batch,
        1e-5,
        true,
    )
    .unwrap();
    let grads = out
        .output
        .mul(g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let (mean, var) = out.batch_moments.expect("batch moments");
    [
        &out.output,
        &mean,
        &var,
        grads.get(xv.as_tensor()).expect("dx"),
        grads.get(gamma.as_tensor()).expect("dγ"),
        grads.get(beta.as_tensor()).expect("dβ"),
    ]
    .iter()
    .map(|t| {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .into_iter()
            .map(f32::to_bits)
            .collect()
    })
    .collect()
}

#[test]
fn batch_norm2d_is_bit_identical_across_runs_and_thread_counts() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    // 8·20·20 = 3200 rows of 24 channels: the sums run over 8 chunks of 400 rows.
    let x = normal(&mut rng, &[8, 20, 20, 24]);
    let g = normal(&mut rng, x.dims());
    let first = run_batch_norm(&x, &g);
    assert_eq!(first, run_batch_norm(&x, &g), "two runs differ");
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let other = pool.install(|| run_batch_norm(&x, &g));
        let names = ["y", "μ", "σ²", "dx", "dγ", "dβ"];
        for (name, (a, b)) in names.iter().zip(first.iter().zip(&other)) {
            assert!(a == b, "{name} differs on a pool of {threads} threads");
        }
    }
}
