//! Learning-rate schedules and gradient clipping against hand-computed values.

use candle_core::{Tensor, Var};
use xbn_nn::optim::{Decay, LrSchedule, clip_grad_norm};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn warmup_then_cosine() {
    let s = LrSchedule {
        warmup_iters: 4,
        warmup_start_factor: 0.2,
        total_iters: 14,
        decay: Decay::Cosine { min_factor: 0.1 },
    };
    s.validate().unwrap();
    // Warm-up: 0.2 + 0.8·t/4.
    for (t, f) in [(0, 0.2), (1, 0.4), (2, 0.6), (3, 0.8), (4, 1.0)] {
        assert!(close(s.factor(t), f), "t={t}: {}", s.factor(t));
    }
    // Cosine over U = 10 iterations: halfway (t = 9) is the midpoint 0.55, t = 6 is u/U = 0.2,
    // and from t = 14 on the factor is the floor.
    assert!(close(s.factor(9), 0.55));
    let quarter = 0.1 + 0.9 * (1.0 + (std::f64::consts::PI * 0.2).cos()) / 2.0;
    assert!(close(s.factor(6), quarter));
    assert!(close(s.factor(14), 0.1) && close(s.factor(100), 0.1));
}

#[test]
fn step_decay_and_constant() {
    let s = LrSchedule {
        warmup_iters: 2,
        warmup_start_factor: 0.0,
        total_iters: 0,
        decay: Decay::Step {
            every: 3,
            gamma: 0.5,
        },
    };
    s.validate().unwrap();
    let got: Vec<f64> = (0..10).map(|t| s.factor(t)).collect();
    assert_eq!(
        got,
        vec![0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    );
    assert_eq!(LrSchedule::constant().factor(12345), 1.0);
}

#[test]
fn invalid_schedules_are_refused() {
    let base = LrSchedule {
        warmup_iters: 10,
        warmup_start_factor: 0.1,
        total_iters: 5,
        decay: Decay::Cosine { min_factor: 0.0 },
    };
    assert!(base.validate().is_err(), "warm-up longer than training");
    assert!(
        LrSchedule {
            decay: Decay::Step {
                every: 0,
                gamma: 0.1
            },
            ..base
        }
        .validate()
        .is_err()
    );
    assert!(
        LrSchedule {
            decay: Decay::Step {
                every: 2,
                gamma: 1.5
            },
            ..base
        }
        .validate()
        .is_err()
    );
    assert!(
        LrSchedule {
            warmup_start_factor: 2.0,
            decay: Decay::Constant,
            ..base
        }
        .validate()
        .is_err()
    );
}

#[test]
fn clipping_scales_to_the_max_norm_and_reports_the_norm() {
    let dev = xbn_core::test_util::test_device();
    let a = Var::new(&[1.0f64, 2.0], &dev).unwrap();
    let b = Var::new(&[0.5f64], &dev).unwrap();
    // Gradients (3, 4) and (0): global norm 5.
    let loss = ((a.as_tensor() * Tensor::new(&[3.0f64, 4.0], &dev).unwrap())
        .unwrap()
        .sum_all()
        .unwrap()
        + (b.as_tensor() * 0.0).unwrap().sum_all().unwrap())
    .unwrap();
    let params = [a.clone(), b.clone()];
    let mut grads = loss.backward().unwrap();
    let norm = clip_grad_norm(&mut grads, &params, 1.0).unwrap();
    assert!((norm - 5.0).abs() < 1e-6);
    let g: Vec<f64> = grads.get(a.as_tensor()).unwrap().to_vec1().unwrap();
    let coef = 1.0 / (5.0 + 1e-6);
    assert!(close(g[0], 3.0 * coef) && close(g[1], 4.0 * coef), "{g:?}");
    // Below the threshold nothing changes.
    let mut grads = loss.backward().unwrap();
    clip_grad_norm(&mut grads, &params, 10.0).unwrap();
    let g: Vec<f64> = grads.get(a.as_tensor()).unwrap().to_vec1().unwrap();
    assert_eq!(g, vec![3.0, 4.0]);
}
