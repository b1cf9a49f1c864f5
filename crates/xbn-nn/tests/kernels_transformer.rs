//! The fused transformer kernels (layer norm, softmax, exact GELU) against the same functions
//! composed from candle ops: values and gradients, on odd shapes and rows of several sizes.

use candle_core::{D, DType, Device, Tensor, Var};
use xbn_nn::kernels::{gelu_erf, layer_norm, layer_norm_composed, softmax_last_dim};

fn close(a: &Tensor, b: &Tensor, tol: f32, what: &str) {
    let diff = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff <= tol, "{what}: differs by {diff}");
}

/// Values and input gradients of `fused` and `composed` under the loss `Σ f(x) ⊙ R`.
fn compare(
    shape: &[usize],
    fused: impl Fn(&Tensor) -> Tensor,
    composed: impl Fn(&Tensor) -> Tensor,
    tol: f32,
    what: &str,
) {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&(Tensor::randn(0f32, 2.0, shape, &dev).unwrap())).unwrap();
    let r = Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
    let (a, b) = (fused(x.as_tensor()), composed(x.as_tensor()));
    close(&a, &b, tol, &format!("{what} forward"));
    let ga = (a * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let gb = (b * &r).unwrap().sum_all().unwrap().backward().unwrap();
    close(
        ga.get(x.as_tensor()).unwrap(),
        gb.get(x.as_tensor()).unwrap(),
        tol,
        &format!("{what} backward"),
    );
}

#[test]
fn gelu_matches_candles_gelu_erf() {
    for shape in [&[7usize][..], &[3, 5, 129], &[2, 1000]] {
        compare(
            shape,
            |x| gelu_erf(x).unwrap(),
            |x| x.gelu_erf().unwrap(),
            1e-5,
            "gelu",
        );
    }
}

#[test]
fn softmax_matches_the_composed_softmax() {
    for shape in [&[1usize, 1][..], &[4, 3, 17], &[2, 2, 65, 130]] {
        compare(
            shape,
            |x| softmax_last_dim(x).unwrap(),
            |x| candle_nn::ops::softmax(x, D::Minus1).unwrap(),
            1e-6,
            "softmax",
        );
    }
    // Large logits do not overflow: the maximum is subtracted.
    let x = Tensor::new(&[[1000f32, 1000.0, -1000.0]], &Device::Cpu).unwrap();
    let y = softmax_last_dim(&x).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(y, vec![vec![0.5, 0.5, 0.0]]);
}

#[test]
fn layer_norm_matches_the_composed_layer_norm_with_every_gradient() {
    let dev = Device::Cpu;
    for shape in [&[3usize, 8][..], &[2, 5, 384], &[130, 33]] {
        let d = *shape.last().unwrap();
        let x = Var::from_tensor(&Tensor::randn(1f32, 3.0, shape, &dev).unwrap()).unwrap();
        let g = Var::from_tensor(&Tensor::randn(1f32, 0.3, d, &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f32, 0.3, d, &dev).unwrap()).unwrap();
        let r = Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
        let fused = layer_norm(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-5).unwrap();
        let composed =
            layer_norm_composed(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-5).unwrap();
        close(&fused, &composed, 1e-5, "layer norm forward");
        let ga = (fused * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (composed * &r)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (v, what) in [(&x, "x"), (&g, "γ"), (&b, "β")] {
            close(
                ga.get(v.as_tensor()).unwrap(),
                gb.get(v.as_tensor()).unwrap(),
                1e-4,
                &format!("layer norm ∂/∂{what} {shape:?}"),
            );
        }
    }
    let x = Tensor::zeros((2, 4), DType::F32, &dev).unwrap();
    let wrong = Tensor::ones(3, DType::F32, &dev).unwrap();
    assert!(layer_norm(&x, &wrong, &wrong, 1e-5).is_err());
}

#[test]
fn f64_and_non_contiguous_inputs_take_the_composed_path_with_the_same_values() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (6, 4), &dev).unwrap();
    let t = x.t().unwrap(); // (4, 6), strided
    close(
        &softmax_last_dim(&t).unwrap(),
        &candle_nn::ops::softmax(&t, D::Minus1).unwrap(),
        1e-6,
        "softmax of a transposed view",
    );
    let x64 = x.to_dtype(DType::F64).unwrap();
    let y64 = gelu_erf(&x64).unwrap();
    assert_eq!(y64.dtype(), DType::F64);
    close(
        &y64.to_dtype(DType::F32).unwrap(),
        &gelu_erf(&x).unwrap(),
        1e-6,
        "gelu f64 vs f32",
    );
}
