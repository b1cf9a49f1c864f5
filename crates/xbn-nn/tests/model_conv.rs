//! Both convolutions (the channels-last CPU kernel, permuted around, and the channels-first
//! composed fallback for other devices) equal candle's `conv2d` in value and gradient, for the
//! kernel/stride/padding combinations of the backbones.

use candle_core::{Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use xbn_nn::kernels::{Conv2dParams, conv2d, conv2d_unfold, to_channels_first, to_channels_last};

fn randn(rng: &mut ChaCha8Rng, shape: &[usize], dev: &Device) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
    Tensor::from_vec(v, shape, dev).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

type Conv = fn(&Tensor, &Tensor, Conv2dParams) -> candle_core::Result<Tensor>;

#[test]
fn kernel_convolution_equals_candle_conv2d_with_gradients() {
    check_against_candle(|x, w, params| {
        to_channels_first(&conv2d(&to_channels_last(x)?, w, params)?)
    });
}

#[test]
fn unfolded_convolution_equals_candle_conv2d_with_gradients() {
    check_against_candle(conv2d_unfold);
}

fn check_against_candle(conv: Conv) {
    let dev = xbn_core::test_util::test_device();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // (c_in, c_out, k, stride, padding, h, w): 7×7/2 stem, 3×3 s1/s2, 1×1 s1/s2, odd sizes.
    for (ci, co, k, s, p, h, w) in [
        (3, 4, 7, 2, 3, 13, 11),
        (4, 5, 3, 1, 1, 6, 7),
        (4, 5, 3, 2, 1, 7, 6),
        (4, 5, 3, 2, 1, 7, 7),
        (3, 4, 7, 2, 3, 10, 10),
        (6, 3, 1, 1, 0, 5, 5),
        (6, 3, 1, 2, 0, 5, 4),
        (6, 3, 1, 2, 0, 6, 6),
    ] {
        let x = Var::from_tensor(&randn(&mut rng, &[2, ci, h, w], &dev)).unwrap();
        let wt = Var::from_tensor(&randn(&mut rng, &[co, ci, k, k], &dev)).unwrap();
        let params = Conv2dParams {
            stride: s,
            padding: p,
        };
        let ours = conv(x.as_tensor(), wt.as_tensor(), params).unwrap();
        let reference = x.as_tensor().conv2d(wt.as_tensor(), p, s, 1, 1).unwrap();
        assert_eq!(ours.dims(), reference.dims());
        let case = format!("k{k} s{s} p{p} {h}×{w}");
        assert!(max_diff(&ours, &reference) < 1e-10, "{case}: values differ");
        let g = randn(&mut rng, ours.dims(), &dev);
        let value: f64 = (&ours * &g)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        let ga = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
        for (what, v) in [("input", &x), ("weight", &wt)] {
            let grad = ga.get(v.as_tensor()).unwrap();
            // The map is linear in x and in W: ⟨conv(x, W), g⟩ = ⟨x, ∇ₓ⟩ = ⟨W, ∇_W⟩.
            let inner: f64 = (v.as_tensor() * grad)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap();
            assert!(
                (inner - value).abs() < 1e-9 * value.abs().max(1.0),
                "{case}: {what} gradient"
            );
            // candle 0.11's own conv2d backward is right only for square inputs (its transposed
            // convolution takes the output padding of the width from the height).
            if h == w {
                let gb = (&reference * &g)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let d = max_diff(grad, gb.get(v.as_tensor()).unwrap());
                assert!(
                    d < 1e-9,
                    "{case}: {what} gradient differs from candle's by {d}"
                );
            }
        }
    }
}
