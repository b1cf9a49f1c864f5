//! AdamW, Adam with L2 decay and SGD against PyTorch's `torch.optim` numbers (`reference/optim_reference.py`, f64):
//! two groups with their own rates and decays, a schedule factor per step.

use candle_core::{DType, Tensor, Var};
use serde_json::Value;
use xbn_nn::optim::{AdamW, AdamWConfig, Optimizer, ParamGroup, Sgd, SgdConfig};

const REFERENCE: &str = include_str!("data/optim_reference.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn build(case: &Value, groups: Vec<ParamGroup>) -> Box<dyn Optimizer> {
    match case["optimizer"].as_str() {
        Some("sgd") => Box::new(
            Sgd::new(
                groups,
                SgdConfig {
                    momentum: case["momentum"].as_f64().unwrap_or(0.0),
                    dampening: case["dampening"].as_f64().unwrap_or(0.0),
                    nesterov: case["nesterov"].as_bool().unwrap_or(false),
                    decoupled_weight_decay: case["decoupled"].as_bool().unwrap_or(false),
                },
            )
            .expect("valid SGD"),
        ),
        Some("adamw") => Box::new(
            AdamW::new(
                groups,
                AdamWConfig {
                    beta1: case["beta1"].as_f64().expect("beta1"),
                    beta2: case["beta2"].as_f64().expect("beta2"),
                    eps: case["eps"].as_f64().expect("eps"),
                    decoupled_weight_decay: case["decoupled"].as_bool().expect("decoupled"),
                },
            )
            .expect("valid AdamW"),
        ),
        other => panic!("unknown optimizer {other:?}"),
    }
}

#[test]
fn optimizers_match_torch_optim() {
    let dev = xbn_core::test_util::test_device();
    let reference: Value = serde_json::from_str(REFERENCE).expect("reference JSON");
    let cases = reference["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 9,
        "reference should hold SGD, AdamW and Adam (L2) cases"
    );
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let a =
            Var::from_tensor(&Tensor::new(floats(&reference["init"]["a"]), &dev).unwrap()).unwrap();
        let b_init = Tensor::new(floats(&reference["init"]["b"]), &dev).unwrap();
        let b = Var::from_tensor(&b_init.reshape((2, 2)).unwrap()).unwrap();
        let hp = &reference["groups"];
        let group = |i: usize, n: &str, v: &Var| {
            ParamGroup::new(
                format!("g{i}"),
                hp[i]["lr"].as_f64().unwrap(),
                hp[i]["weight_decay"].as_f64().unwrap(),
                vec![(n.to_string(), v.clone())],
            )
        };
        let mut opt = build(case, vec![group(0, "a", &a), group(1, "b", &b)]);
        let factors = floats(&reference["factors"]);
        for (t, expected) in case["trace"].as_array().unwrap().iter().enumerate() {
            let ga = Tensor::new(floats(&reference["grads"][t]["a"]), &dev).unwrap();
            let gb = Tensor::new(floats(&reference["grads"][t]["b"]), &dev)
                .unwrap()
                .reshape((2, 2))
                .unwrap();
            // d/dp Σ p·c = c: the backward pass delivers exactly the reference gradients.
            let loss = ((a.as_tensor() * &ga).unwrap().sum_all().unwrap()
                + (b.as_tensor() * &gb).unwrap().sum_all().unwrap())
            .unwrap();
            opt.set_lr_factor(factors[t]);
            opt.step(&loss.backward().unwrap()).unwrap();
            let got_a = a
                .as_tensor()
                .to_dtype(DType::F64)
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let got_b = b
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            for (got, want) in [
                (got_a, floats(&expected["a"])),
                (got_b, floats(&expected["b"])),
            ] {
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-12 + 1e-10 * w.abs(),
                        "{name} step {t}: got {got:?}, torch {want:?}"
                    );
                }
            }
        }
    }
}
