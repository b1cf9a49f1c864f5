//! Optimizer state export/import: a resumed optimizer continues exactly; bad state is refused
//! without touching the current state; invalid configurations are refused.

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use xbn_nn::optim::{AdamW, AdamWConfig, OptimError, Optimizer, ParamGroup, Sgd, SgdConfig};

fn params(dev: &Device) -> (Var, Var) {
    let a = Var::new(&[0.3f32, -1.2, 2.5], dev).unwrap();
    let b = Var::new(&[[0.1f32, 0.4], [-0.6, 1.0]], dev).unwrap();
    (a, b)
}

fn groups(a: &Var, b: &Var) -> Vec<ParamGroup> {
    vec![
        ParamGroup::new("backbone", 0.05, 1e-2, vec![("a".into(), a.clone())]),
        ParamGroup::new("head", 0.2, 0.0, vec![("b".into(), b.clone())]),
    ]
}

/// A non-quadratic loss so successive gradients differ.
fn step(opt: &mut dyn Optimizer, a: &Var, b: &Var, t: usize) {
    let loss = (a.as_tensor().sin().unwrap().sum_all().unwrap()
        + (b.as_tensor() * (t as f64 + 1.0))
            .unwrap()
            .cos()
            .unwrap()
            .sum_all()
            .unwrap())
    .unwrap();
    opt.set_lr_factor(1.0 / (t as f64 + 1.0));
    opt.step(&loss.backward().unwrap()).unwrap();
}

fn values(v: &Var) -> Vec<f32> {
    v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()
}

fn resume_is_exact(make: &dyn Fn(Vec<ParamGroup>) -> Box<dyn Optimizer>) {
    let dev = xbn_core::test_util::test_device();
    let (a, b) = params(&dev);
    let mut opt = make(groups(&a, &b));
    for t in 0..3 {
        step(opt.as_mut(), &a, &b, t);
    }
    let state: HashMap<String, Tensor> = opt.state();
    let saved = (values(&a), values(&b));
    for t in 3..6 {
        step(opt.as_mut(), &a, &b, t);
    }
    let continuous = (values(&a), values(&b));

    let a2 = Var::new(saved.0.as_slice(), &dev).unwrap();
    let b2 = Var::from_tensor(
        &Tensor::new(saved.1.as_slice(), &dev)
            .unwrap()
            .reshape((2, 2))
            .unwrap(),
    )
    .unwrap();
    let mut resumed = make(groups(&a2, &b2));
    resumed.load_state(&state).unwrap();
    for t in 3..6 {
        step(resumed.as_mut(), &a2, &b2, t);
    }
    assert!(
        continuous
            .0
            .iter()
            .chain(&continuous.1)
            .all(|v| v.is_finite())
    );
    assert_eq!(
        (values(&a2), values(&b2)),
        continuous,
        "resumed run differs"
    );

    // Without the state the continuation differs: the test can fail.
    let a3 = Var::new(saved.0.as_slice(), &dev).unwrap();
    let b3 = Var::from_tensor(
        &Tensor::new(saved.1.as_slice(), &dev)
            .unwrap()
            .reshape((2, 2))
            .unwrap(),
    )
    .unwrap();
    let mut fresh = make(groups(&a3, &b3));
    for t in 3..6 {
        step(fresh.as_mut(), &a3, &b3, t);
    }
    assert_ne!(values(&a3), continuous.0);
}

#[test]
fn sgd_resumes_exactly() {
    resume_is_exact(&|g| {
        Box::new(
            Sgd::new(
                g,
                SgdConfig {
                    nesterov: true,
                    ..SgdConfig::default()
                },
            )
            .unwrap(),
        )
    });
}

#[test]
fn adamw_resumes_exactly() {
    resume_is_exact(&|g| Box::new(AdamW::new(g, AdamWConfig::default()).unwrap()));
}

#[test]
fn bad_state_is_refused_and_the_current_state_kept() {
    let dev = xbn_core::test_util::test_device();
    let (a, b) = params(&dev);
    let mut opt = AdamW::new(groups(&a, &b), AdamWConfig::default()).unwrap();
    step(&mut opt, &a, &b, 0);
    let good = opt.state();
    assert_eq!(good.len(), 6);
    let mut wrong_shape = good.clone();
    wrong_shape.insert(
        "a.exp_avg".into(),
        Tensor::zeros(4, candle_core::DType::F32, &dev).unwrap(),
    );
    let mut unexpected = good.clone();
    unexpected.insert(
        "c.exp_avg".into(),
        Tensor::zeros(3, candle_core::DType::F32, &dev).unwrap(),
    );
    let mut partial = good.clone();
    partial.remove("b.step");
    for (what, bad) in [
        ("shape", wrong_shape),
        ("unexpected", unexpected),
        ("partial", partial),
    ] {
        let err = opt.load_state(&bad).unwrap_err();
        assert!(matches!(err, OptimError::State(_)), "{what}: {err}");
    }
    let after = opt.state();
    for (k, t) in &good {
        let d: f32 = (t - &after[k])
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_dtype(candle_core::DType::F32)
            .unwrap()
            .to_scalar()
            .unwrap();
        assert_eq!(d, 0.0, "{k} changed by a refused load");
    }
}

#[test]
fn invalid_configurations_are_refused() {
    let dev = xbn_core::test_util::test_device();
    let (a, b) = params(&dev);
    let dup = vec![
        ParamGroup::new("x", 0.1, 0.0, vec![("a".into(), a.clone())]),
        ParamGroup::new("y", 0.1, 0.0, vec![("a".into(), b.clone())]),
    ];
    assert!(
        matches!(Sgd::new(dup, SgdConfig::default()), Err(OptimError::DuplicateParam(n)) if n == "a")
    );
    let nesterov = SgdConfig {
        momentum: 0.0,
        nesterov: true,
        ..SgdConfig::default()
    };
    assert!(Sgd::new(groups(&a, &b), nesterov).is_err());
    let neg = vec![ParamGroup::new(
        "x",
        -0.1,
        0.0,
        vec![("a".into(), a.clone())],
    )];
    assert!(AdamW::new(neg, AdamWConfig::default()).is_err());
    assert!(
        AdamW::new(
            groups(&a, &b),
            AdamWConfig {
                beta1: 1.0,
                ..AdamWConfig::default()
            }
        )
        .is_err()
    );
}

#[test]
fn parameters_without_gradient_are_left_alone_and_rates_reported() {
    let dev = xbn_core::test_util::test_device();
    let (a, b) = params(&dev);
    let mut opt = Sgd::new(groups(&a, &b), SgdConfig::default()).unwrap();
    let before = values(&b);
    let loss = a.as_tensor().sum_all().unwrap();
    opt.set_lr_factor(0.5);
    opt.step(&loss.backward().unwrap()).unwrap();
    assert_eq!(values(&b), before);
    assert_eq!(opt.state().len(), 1);
    assert_eq!(
        opt.learning_rates(),
        vec![("backbone".to_string(), 0.025), ("head".to_string(), 0.1)]
    );
}
