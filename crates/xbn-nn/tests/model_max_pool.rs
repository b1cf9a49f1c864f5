//! The differentiable max-pool on channels-last `(N, H, W, C)` tensors: a hand-computed example,
//! ties, candle's own (channels-first) pool where it applies (kernel = stride), and the gradient
//! against central finite differences in f64.

use candle_core::{DType, Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use xbn_nn::kernels::to_channels_last;
use xbn_nn::model::max_pool2d;

fn randn(rng: &mut ChaCha8Rng, shape: &[usize], dev: &Device) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
    Tensor::from_vec(v, shape, dev).unwrap()
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn pads_with_minus_infinity_and_routes_gradient_to_the_maximum() {
    let dev = xbn_core::test_util::test_device();
    // x[i][j] = −(4i + j + 1): every value negative, so zero padding would give 0.
    let values: Vec<f32> = (0..16).map(|k| -(k as f32 + 1.0)).collect();
    let x = Var::from_tensor(&Tensor::from_vec(values, (1, 4, 4, 1), &dev).unwrap()).unwrap();
    let y = max_pool2d(x.as_tensor(), 3, 2, 1).unwrap();
    assert_eq!(y.dims(), &[1, 2, 2, 1]);
    // Windows (rows × cols): {0,1}×{0,1} → x00, {0,1}×{1,2,3} → x01, {1,2,3}×{0,1} → x10,
    // {1,2,3}×{1,2,3} → x11.
    assert_eq!(to_vec(&y), vec![-1.0, -2.0, -5.0, -6.0]);
    let grads = y.sum_all().unwrap().backward().unwrap();
    let g = to_vec(grads.get(x.as_tensor()).unwrap());
    let mut want = vec![0.0; 16];
    for k in [0, 1, 4, 5] {
        want[k] = 1.0;
    }
    assert_eq!(g, want);
}

#[test]
fn ties_send_each_output_gradient_to_exactly_one_input() {
    let dev = xbn_core::test_util::test_device();
    let x = Var::from_tensor(&Tensor::zeros((1, 5, 5, 1), DType::F32, &dev).unwrap()).unwrap();
    let y = max_pool2d(x.as_tensor(), 3, 2, 1).unwrap();
    assert_eq!(y.dims(), &[1, 3, 3, 1]);
    let grads = y.sum_all().unwrap().backward().unwrap();
    let g = to_vec(grads.get(x.as_tensor()).unwrap());
    assert_eq!(
        g.iter().sum::<f64>(),
        9.0,
        "one unit of gradient per output, got {g:?}"
    );
}

#[test]
fn equals_candle_pool_when_kernel_equals_stride() {
    let dev = xbn_core::test_util::test_device();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = randn(&mut rng, &[2, 3, 8, 6], &dev)
        .to_dtype(DType::F32)
        .unwrap();
    let ours = max_pool2d(&to_channels_last(&x).unwrap(), 2, 2, 0).unwrap();
    let candle = to_channels_last(&x.max_pool2d(2).unwrap()).unwrap();
    assert_eq!(to_vec(&ours), to_vec(&candle));
}

#[test]
fn output_sizes_follow_pytorch() {
    let dev = xbn_core::test_util::test_device();
    // ⌊(H + 2p − k)/s⌋ + 1 for the ResNet stem pool and odd sizes.
    for (h, w, ho, wo) in [
        (112, 112, 56, 56),
        (7, 8, 4, 4),
        (1, 2, 1, 1),
        (17, 33, 9, 17),
    ] {
        let x = Tensor::zeros((1, h, w, 2), DType::F32, &dev).unwrap();
        assert_eq!(
            max_pool2d(&x, 3, 2, 1).unwrap().dims(),
            &[1, ho, wo, 2],
            "input {h}×{w}"
        );
    }
    let x = Tensor::zeros((1, 1, 4, 4), DType::F32, &dev).unwrap();
    assert!(
        max_pool2d(&x, 3, 2, 2).is_err(),
        "padding above kernel/2 must be refused"
    );
}

#[test]
fn gradient_matches_finite_differences() {
    let dev = xbn_core::test_util::test_device();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let shape = [2, 3, 7, 6];
    let x0 = randn(&mut rng, &shape, &dev);
    let y_dims = max_pool2d(&x0, 3, 2, 1).unwrap().dims().to_vec();
    let w = randn(&mut rng, &y_dims, &dev);
    let loss = |x: &Tensor| -> f64 {
        (max_pool2d(x, 3, 2, 1).unwrap() * &w)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    let x = Var::from_tensor(&x0).unwrap();
    let l = (max_pool2d(x.as_tensor(), 3, 2, 1).unwrap() * &w)
        .unwrap()
        .sum_all()
        .unwrap();
    let analytic = to_vec(l.backward().unwrap().get(x.as_tensor()).unwrap());
    let base = to_vec(&x0);
    let eps = 1e-6;
    for k in 0..base.len() {
        let mut plus = base.clone();
        plus[k] += eps;
        let mut minus = base.clone();
        minus[k] -= eps;
        let fp = loss(&Tensor::from_vec(plus, &shape, &dev).unwrap());
        let fm = loss(&Tensor::from_vec(minus, &shape, &dev).unwrap());
        let numeric = (fp - fm) / (2.0 * eps);
        assert!(
            (numeric - analytic[k]).abs() < 1e-6,
            "element {k}: numeric {numeric}, autograd {}",
            analytic[k]
        );
    }
}
