//! BatchNorm with a training mode: hand-computed running statistics and the gradient against
//! finite differences (torch comparisons live in `model_resnet_reference.rs`).

use candle_core::{DType, Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use xbn_nn::model::{BatchNorm2d, BatchNormMode, ParamRole, ParamStore};

fn to_vec(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn bn(
    channels: usize,
    mode: BatchNormMode,
    dtype: DType,
    dev: &Device,
) -> (BatchNorm2d, candle_nn::VarMap) {
    let mut store = ParamStore::new(0, dtype, dev);
    let layer = BatchNorm2d::new(&mut store, "bn", channels, ParamRole::Backbone, mode).unwrap();
    (layer, store.finish().0)
}

#[test]
fn training_forward_normalizes_and_updates_running_statistics() {
    let dev = xbn_core::test_util::test_device();
    let (layer, vars) = bn(1, BatchNormMode::Trained, DType::F64, &dev);
    // One channel, values 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 5/3.
    let x = Tensor::new(&[1.0f64, 2.0, 3.0, 4.0], &dev)
        .unwrap()
        .reshape((4, 1, 1, 1))
        .unwrap();
    let y = to_vec(&layer.forward(&x, true).unwrap());
    let s = (1.25f64 + 1e-5).sqrt();
    for (got, xi) in y.iter().zip([1.0, 2.0, 3.0, 4.0]) {
        assert!((got - (xi - 2.5) / s).abs() < 1e-12);
    }
    let data = vars.data().lock().unwrap();
    let rm = to_vec(data["bn.running_mean"].as_tensor());
    let rv = to_vec(data["bn.running_var"].as_tensor());
    assert!((rm[0] - 0.25).abs() < 1e-12, "running mean {rm:?}");
    assert!(
        (rv[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-12,
        "running var {rv:?}"
    );
    drop(data);
    // Eval mode now uses the running statistics.
    let y = to_vec(&layer.forward(&x, false).unwrap());
    let s = (0.9f64 + 0.1 * 5.0 / 3.0 + 1e-5).sqrt();
    assert!((y[0] - (1.0 - 0.25) / s).abs() < 1e-12);
}

#[test]
fn a_single_value_per_channel_is_refused_in_training() {
    let dev = xbn_core::test_util::test_device();
    let (layer, _) = bn(2, BatchNormMode::Trained, DType::F32, &dev);
    // Channels-last (N, H, W, C).
    let x = Tensor::zeros((1, 1, 1, 2), DType::F32, &dev).unwrap();
    assert!(layer.forward(&x, true).is_err());
    assert!(layer.forward(&x, false).is_ok());
    assert!(
        layer
            .forward(
                &Tensor::zeros((1, 2, 2, 3), DType::F32, &dev).unwrap(),
                false
            )
            .is_err()
    );
}

#[test]
fn training_gradient_matches_finite_differences() {
    let dev = xbn_core::test_util::test_device();
    let (layer, vars) = bn(3, BatchNormMode::Trained, DType::F64, &dev);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let shape = [2, 3, 2, 3];
    let n: usize = shape.iter().product();
    let mut sample =
        |k: usize| -> Vec<f64> { (0..k).map(|_| StandardNormal.sample(&mut rng)).collect() };
    let x0 = sample(n);
    let w = Tensor::from_vec(sample(n), &shape, &dev).unwrap();
    let gamma = vars.data().lock().unwrap()["bn.weight"].clone();
    gamma
        .set(&Tensor::new(&[0.5f64, 1.5, -1.0], &dev).unwrap())
        .unwrap();
    let loss = |x: &Tensor| {
        (layer.forward(x, true).unwrap() * &w)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let x = Var::from_tensor(&Tensor::from_vec(x0.clone(), &shape, &dev).unwrap()).unwrap();
    let grads = loss(x.as_tensor()).backward().unwrap();
    let gx = to_vec(grads.get(x.as_tensor()).unwrap());
    let gg = to_vec(grads.get(gamma.as_tensor()).unwrap());
    let eps = 1e-6;
    let eval = |v: Vec<f64>| -> f64 {
        loss(&Tensor::from_vec(v, &shape, &dev).unwrap())
            .to_scalar()
            .unwrap()
    };
    for k in 0..n {
        let (mut p, mut m) = (x0.clone(), x0.clone());
        p[k] += eps;
        m[k] -= eps;
        let numeric = (eval(p) - eval(m)) / (2.0 * eps);
        assert!(
            (numeric - gx[k]).abs() < 1e-6,
            "x[{k}]: numeric {numeric}, autograd {}",
            gx[k]
        );
    }
    let g0 = to_vec(gamma.as_tensor());
    let x_t = Tensor::from_vec(x0, &shape, &dev).unwrap();
    for c in 0..3 {
        let shifted = |d: f64| {
            let mut g = g0.clone();
            g[c] += d;
            gamma.set(&Tensor::new(g, &dev).unwrap()).unwrap();
            loss(&x_t).to_scalar::<f64>().unwrap()
        };
        let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
        assert!(
            (numeric - gg[c]).abs() < 1e-6,
            "gamma[{c}]: numeric {numeric}, autograd {}",
            gg[c]
        );
    }
}
