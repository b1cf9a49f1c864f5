//! The CPU kernels' own backward passes (`xbn_nn::kernels`) in `f64` against central finite
//! differences of the scalar `L = sum(y · G)` for a fixed random `G`, plus properties of the
//! BatchNorm gradient and of inference without variables.
//!
//! For each input tensor a few random coordinates (and a few where the analytic gradient is
//! non-zero) are perturbed by `±h`, `h = 1e-6`, and `(L(+h) − L(−h)) / 2h` must match the analytic
//! gradient within `1e-6 · max(1, |analytic|)`. Inputs are drawn away from the kinks: ReLU
//! pre-activations are at least `1e-3` from zero and max-pool inputs are distinct values on a grid
//! of spacing `1e-2`, so no `±h` perturbation changes a ReLU mask or a window's argmax.

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use xbn_nn::kernels::{
    BatchNormStatistics, Conv2dParams, batch_norm2d, batch_norm2d_add_relu, conv2d, max_pool2d,
};

const STEP: f64 = 1e-6;
const TOLERANCE: f64 = 1e-6;
/// Random coordinates checked per tensor, and as many again among the non-zero gradients.
const SAMPLES: usize = 5;

struct Draw(ChaCha8Rng);

impl Draw {
    fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    fn normal(&mut self, len: usize) -> Vec<f64> {
        (0..len)
            .map(|_| StandardNormal.sample(&mut self.0))
            .collect()
    }

    fn uniform(&mut self, lo: f64, hi: f64, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.0.random_range(lo..hi)).collect()
    }

    fn index(&mut self, len: usize) -> usize {
        self.0.random_range(0..len)
    }

    /// A random permutation of `0..len` (Fisher–Yates).
    fn permutation(&mut self, len: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..len).collect();
        for i in (1..len).rev() {
            p.swap(i, self.0.random_range(0..=i));
        }
        p
    }
}

fn tensor(values: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// `sum(y · g)` as a number.
fn weighted_sum(y: &Tensor, g: &Tensor) -> f64 {
    y.mul(g)
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

/// The gradients of `sum(y · g)` with respect to `vars`.
fn analytic(y: &Tensor, g: &Tensor, vars: &[&Var]) -> Vec<Tensor> {
    let grads = y.mul(g).unwrap().sum_all().unwrap().backward().unwrap();
    vars.iter()
        .map(|v| grads.get(v.as_tensor()).expect("a gradient").clone())
        .collect()
}

/// Checks `grad`, the analytic gradient of `loss` with respect to `inputs[which]`, against
/// central differences at random coordinates and at coordinates where `grad` is non-zero.
fn check(
    case: &str,
    tensor_name: &str,
    inputs: &[Tensor],
    which: usize,
    grad: &Tensor,
    loss: &dyn Fn(&[Tensor]) -> f64,
    draw: &mut Draw,
) {
    let base = values(&inputs[which]);
    let shape = inputs[which].dims().to_vec();
    let grad = values(grad);
    assert_eq!(
        grad.len(),
        base.len(),
        "{case}.{tensor_name}: gradient size"
    );
    let mut coords: Vec<usize> = if base.len() <= 2 * SAMPLES {
        (0..base.len()).collect()
    } else {
        (0..SAMPLES).map(|_| draw.index(base.len())).collect()
    };
    let nonzero: Vec<usize> = (0..grad.len()).filter(|&i| grad[i] != 0.0).collect();
    assert!(
        !nonzero.is_empty(),
        "{case}.{tensor_name}: the analytic gradient is all zeros"
    );
    coords.extend((0..SAMPLES).map(|_| nonzero[draw.index(nonzero.len())]));
    for i in coords {
        let at = |delta: f64| {
            let mut v = base.clone();
            v[i] += delta;
            let mut perturbed = inputs.to_vec();
            perturbed[which] = tensor(v, &shape);
            loss(&perturbed)
        };
        let numeric = (at(STEP) - at(-STEP)) / (2.0 * STEP);
        let err = (numeric - grad[i]).abs();
        assert!(
            err <= TOLERANCE * grad[i].abs().max(1.0),
            "{case}.{tensor_name}[{i}] (shape {shape:?}): analytic {} but finite difference {numeric} \
             (error {err:.3e})",
            grad[i]
        );
    }
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    // (N, C, H, W, O, k, stride, padding): every kernel size, both strides, paddings 0..=k/2,
    // non-square inputs, the pointwise fast path (1×1, stride 1, no padding).
    let cases = [
        (2, 3, 7, 5, 4, 3, 1, 1),
        (1, 2, 9, 6, 3, 5, 2, 2),
        (2, 2, 8, 11, 2, 7, 2, 3),
        (3, 4, 6, 5, 5, 1, 1, 0),
        (2, 2, 5, 7, 3, 1, 2, 0),
        (1, 3, 6, 9, 2, 3, 2, 0),
        (2, 1, 5, 13, 2, 5, 1, 0),
    ];
    let mut draw = Draw::new(1);
    for (idx, &(n, c, h, w, o, k, stride, padding)) in cases.iter().enumerate() {
        let case = format!(
            "conv case {idx} (x {:?}, k {k}, s {stride}, p {padding})",
            [n, c, h, w]
        );
        let params = Conv2dParams { stride, padding };
        let x = tensor(draw.normal(n * c * h * w), &[n, h, w, c]);
        let wt = tensor(draw.normal(o * c * k * k), &[o, c, k, k]);
        let (xv, wv) = (
            Var::from_tensor(&x).unwrap(),
            Var::from_tensor(&wt).unwrap(),
        );
        let y = conv2d(xv.as_tensor(), wv.as_tensor(), params).unwrap();
        let g = tensor(draw.normal(y.elem_count()), y.dims());
        let grads = analytic(&y, &g, &[&xv, &wv]);
        let loss = |t: &[Tensor]| weighted_sum(&conv2d(&t[0], &t[1], params).unwrap(), &g);
        let inputs = [x, wt];
        check(&case, "dx", &inputs, 0, &grads[0], &loss, &mut draw);
        check(&case, "dw", &inputs, 1, &grads[1], &loss, &mut draw);

        // With only the kernel a variable (the first layer), ∂L/∂W is the same.
        let wv2 = Var::from_tensor(&inputs[1]).unwrap();
        let y2 = conv2d(&inputs[0], wv2.as_tensor(), params).unwrap();
        let dw2 = analytic(&y2, &g, &[&wv2]).remove(0);
        let (a, b) = (values(&grads[1]), values(&dw2));
        for (i, (a, b)) in a.iter().zip(&b).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{case}: dw[{i}] is {a} with x a variable but {b} without"
            );
        }
    }
}

/// BatchNorm inputs for sizes `[N, C, H, W]`, `x` channels-last `(N, H, W, C)`: per-channel shifted and scaled `x`, `γ` of both signs,
/// `β`, and fixed statistics. Under ReLU they are redrawn until every pre-activation (with the
/// statistics `fixed` selects) is at least `1e-3` from zero.
struct BnInputs {
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    mean: Tensor,
    var: Tensor,
}

fn bn_inputs(draw: &mut Draw, dims: [usize; 4], fixed: bool, relu: bool, eps: f64) -> BnInputs {
    let [n, c, h, w] = dims;
    for _ in 0..1000 {
        let shift = draw.uniform(-2.0, 2.0, c);
        let scale = draw.uniform(0.5, 3.0, c);
        let mut x = draw.normal(n * c * h * w);
        for (i, v) in x.iter_mut().enumerate() {
            let ch = i % c;
            *v = *v * scale[ch] + shift[ch];
        }
        let gamma: Vec<f64> = draw
            .uniform(0.5, 1.5, c)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if i % 3 == 1 { -v } else { v })
            .collect();
        let inputs = BnInputs {
            x: tensor(x, &[n, h, w, c]),
            gamma: tensor(gamma, &[c]),
            beta: tensor(draw.normal(c).iter().map(|v| 0.5 * v).collect(), &[c]),
            mean: tensor(
                shift
                    .iter()
                    .zip(draw.normal(c))
                    .map(|(s, d)| s + 0.3 * d)
                    .collect(),
                &[c],
            ),
            var: tensor(draw.uniform(0.3, 4.0, c), &[c]),
        };
        if !relu {
            return inputs;
        }
        let pre = batch_norm2d(
            &inputs.x,
            &inputs.gamma,
            &inputs.beta,
            statistics(fixed, &inputs.mean, &inputs.var),
            eps,
            false,
        )
        .unwrap()
        .output;
        if values(&pre).iter().all(|v| v.abs() >= 1e-3) {
            return inputs;
        }
    }
    panic!("could not draw BatchNorm inputs away from the ReLU kink");
}

fn statistics<'a>(fixed: bool, mean: &'a Tensor, var: &'a Tensor) -> BatchNormStatistics<'a> {
    if fixed {
        BatchNormStatistics::Fixed { mean, var }
    } else {
        BatchNormStatistics::Batch
    }
}

#[test]
fn batch_norm2d_gradients_match_finite_differences() {
    let mut draw = Draw::new(2);
    let shapes = [[2, 3, 5, 4], [3, 2, 4, 7], [1, 4, 6, 5]];
    for (idx, (fixed, relu)) in [(false, false), (false, true), (true, false), (true, true)]
        .into_iter()
        .enumerate()
    {
        for (s, &dims) in shapes.iter().enumerate() {
            let eps = if s == 1 { 1e-3 } else { 1e-5 };
            let case = format!(
                "bn case {idx}.{s} (x {dims:?}, {}, relu {relu}, eps {eps})",
                if fixed { "fixed stats" } else { "batch stats" }
            );
            let inp = bn_inputs(&mut draw, dims, fixed, relu, eps);
            let xv = Var::from_tensor(&inp.x).unwrap();
            let gv = Var::from_tensor(&inp.gamma).unwrap();
            let bv = Var::from_tensor(&inp.beta).unwrap();
            let out = batch_norm2d(
                xv.as_tensor(),
                gv.as_tensor(),
                bv.as_tensor(),
                statistics(fixed, &inp.mean, &inp.var),
                eps,
                relu,
            )
            .unwrap();
            assert_eq!(out.batch_moments.is_some(), !fixed, "{case}: batch moments");
            let g = tensor(draw.normal(out.output.elem_count()), out.output.dims());
            let grads = analytic(&out.output, &g, &[&xv, &gv, &bv]);
            let (mean, var) = (inp.mean.clone(), inp.var.clone());
            let loss = |t: &[Tensor]| {
                let out = batch_norm2d(
                    &t[0],
                    &t[1],
                    &t[2],
                    statistics(fixed, &mean, &var),
                    eps,
                    relu,
                )
                .unwrap();
                weighted_sum(&out.output, &g)
            };
            let inputs = [inp.x, inp.gamma, inp.beta];
            check(&case, "dx", &inputs, 0, &grads[0], &loss, &mut draw);
            check(&case, "dgamma", &inputs, 1, &grads[1], &loss, &mut draw);
            check(&case, "dbeta", &inputs, 2, &grads[2], &loss, &mut draw);
        }
    }
}

#[test]
fn batch_norm2d_batch_statistics_gradient_sums_to_zero_per_channel() {
    // With batch moments, y does not change when a constant is added to a channel of x, so
    // Σ_{n,h,w} ∂L/∂x = 0 for each channel (also under ReLU: the mask depends on y only).
    let mut draw = Draw::new(3);
    for relu in [false, true] {
        let dims = [3, 4, 5, 6];
        let inp = bn_inputs(&mut draw, dims, false, relu, 1e-5);
        let xv = Var::from_tensor(&inp.x).unwrap();
        let out = batch_norm2d(
            xv.as_tensor(),
            &inp.gamma,
            &inp.beta,
            BatchNormStatistics::Batch,
            1e-5,
            relu,
        )
        .unwrap();
        let g = tensor(draw.normal(out.output.elem_count()), out.output.dims());
        let dx = analytic(&out.output, &g, &[&xv]).remove(0);
        let sums = values(&dx.sum((0, 1, 2)).unwrap());
        let scale = values(&dx.abs().unwrap().sum((0, 1, 2)).unwrap());
        for (ch, (s, m)) in sums.iter().zip(&scale).enumerate() {
            assert!(
                *m > 0.0,
                "relu {relu}: channel {ch} has an all-zero gradient"
            );
            assert!(
                s.abs() <= 1e-12 * m,
                "relu {relu}: channel {ch}: Σ dx = {s:e} (Σ |dx| = {m:e}), expected ~0"
            );
        }
    }
}

#[test]
fn max_pool2d_gradients_match_finite_differences() {
    let mut draw = Draw::new(4);
    // (kernel, stride, padding) with non-square channels-last inputs (N, H, W, C).
    let cases = [
        ((3, 2, 1), [2, 9, 6, 3]),
        ((2, 2, 0), [1, 8, 11, 2]),
        ((3, 1, 1), [2, 5, 7, 2]),
        ((3, 2, 1), [1, 4, 13, 3]),
        ((2, 2, 0), [3, 7, 5, 1]),
    ];
    for (idx, &((k, s, p), dims)) in cases.iter().enumerate() {
        let case = format!("pool case {idx} (x {dims:?}, k {k}, s {s}, p {p})");
        let len = dims.iter().product();
        // Distinct values 1e-2 apart: the ±h perturbations cannot create ties or move a maximum.
        let x: Vec<f64> = draw
            .permutation(len)
            .into_iter()
            .map(|i| (i as f64 - len as f64 / 2.0) * 1e-2)
            .collect();
        let x = tensor(x, &dims);
        let xv = Var::from_tensor(&x).unwrap();
        let y = max_pool2d(xv.as_tensor(), k, s, p).unwrap();
        let g = tensor(draw.normal(y.elem_count()), y.dims());
        let dx = analytic(&y, &g, &[&xv]).remove(0);
        let loss = |t: &[Tensor]| weighted_sum(&max_pool2d(&t[0], k, s, p).unwrap(), &g);
        let inputs = [x];
        check(&case, "dx", &inputs, 0, &dx, &loss, &mut draw);
        // Each output sends its whole gradient to one input: the totals agree.
        let (total_dx, total_g) = (
            values(&dx).iter().sum::<f64>(),
            values(&g).iter().sum::<f64>(),
        );
        assert!(
            (total_dx - total_g).abs() <= 1e-12 * total_g.abs().max(1.0),
            "{case}: Σ dx = {total_dx} but Σ g = {total_g}"
        );
    }
}

#[test]
fn inference_without_variables_records_no_graph() {
    let mut draw = Draw::new(5);
    let x = tensor(draw.normal(2 * 3 * 6 * 5), &[2, 6, 5, 3]);
    let w = tensor(draw.normal(4 * 3 * 3 * 3), &[4, 3, 3, 3]);
    let (gamma, beta) = (tensor(vec![1.0; 4], &[4]), tensor(vec![0.0; 4], &[4]));
    let (mean, var) = (tensor(vec![0.1; 4], &[4]), tensor(vec![2.0; 4], &[4]));
    let params = Conv2dParams {
        stride: 1,
        padding: 1,
    };

    let y = conv2d(&x, &w, params).unwrap();
    assert!(!y.track_op(), "conv2d of plain tensors records an op");
    for (stats, relu) in [
        (BatchNormStatistics::Batch, false),
        (BatchNormStatistics::Batch, true),
        (
            BatchNormStatistics::Fixed {
                mean: &mean,
                var: &var,
            },
            true,
        ),
    ] {
        let out = batch_norm2d(&y, &gamma, &beta, stats, 1e-5, relu).unwrap();
        assert!(
            !out.output.track_op(),
            "batch_norm2d ({stats:?}, relu {relu}) records an op"
        );
        if let Some((m, v)) = &out.batch_moments {
            assert!(!m.track_op() && !v.track_op(), "batch moments record an op");
        }
        let pooled = max_pool2d(&out.output, 3, 2, 1).unwrap();
        assert!(
            !pooled.track_op(),
            "max_pool2d of a plain tensor records an op"
        );
    }

    // The same calls with variables do record the graph (so the checks above mean something),
    // while the batch moments stay detached.
    let wv = Var::from_tensor(&w).unwrap();
    let y = conv2d(&x, wv.as_tensor(), params).unwrap();
    assert!(y.track_op(), "conv2d with a variable kernel records no op");
    let gv = Var::from_tensor(&gamma).unwrap();
    let out = batch_norm2d(
        &y,
        gv.as_tensor(),
        &beta,
        BatchNormStatistics::Batch,
        1e-5,
        true,
    )
    .unwrap();
    assert!(
        out.output.track_op(),
        "batch_norm2d with a variable γ records no op"
    );
    let (m, v) = out.batch_moments.expect("batch moments");
    assert!(
        !m.track_op() && !v.track_op(),
        "batch moments are not detached"
    );
    assert!(max_pool2d(&out.output, 2, 2, 0).unwrap().track_op());
}

#[test]
fn batch_norm2d_add_relu_gradients_match_finite_differences() {
    // y = ReLU(BN(x) + r): gradients for x, γ, β and the shortcut r, with batch and fixed
    // moments; inputs are redrawn until every pre-activation is away from the kink.
    let mut draw = Draw::new(6);
    for (idx, fixed) in [false, true].into_iter().enumerate() {
        let dims = [2, 3, 4, 5];
        let eps = 1e-5;
        let (inp, r) = 'draw: {
            for _ in 0..100 {
                let inp = bn_inputs(&mut draw, dims, fixed, false, eps);
                let r = tensor(draw.normal(dims.iter().product()), inp.x.dims());
                let pre = batch_norm2d(
                    &inp.x,
                    &inp.gamma,
                    &inp.beta,
                    statistics(fixed, &inp.mean, &inp.var),
                    eps,
                    false,
                )
                .unwrap()
                .output;
                let sum = (pre + &r).unwrap();
                if values(&sum).iter().all(|v| v.abs() >= 1e-3) {
                    break 'draw (inp, r);
                }
            }
            panic!("could not draw inputs away from the ReLU kink");
        };
        let case = format!("bn+add+relu case {idx} (fixed {fixed})");
        let xv = Var::from_tensor(&inp.x).unwrap();
        let gv = Var::from_tensor(&inp.gamma).unwrap();
        let bv = Var::from_tensor(&inp.beta).unwrap();
        let rv = Var::from_tensor(&r).unwrap();
        let (mean, var) = (inp.mean.clone(), inp.var.clone());
        let run = |t: [&Tensor; 4]| {
            batch_norm2d_add_relu(t[0], t[1], t[2], t[3], statistics(fixed, &mean, &var), eps)
                .unwrap()
        };
        let out = run([
            xv.as_tensor(),
            gv.as_tensor(),
            bv.as_tensor(),
            rv.as_tensor(),
        ]);
        assert_eq!(out.batch_moments.is_some(), !fixed, "{case}: batch moments");
        // The fused kernel equals the composition it replaces.
        let composed = (batch_norm2d(
            &inp.x,
            &inp.gamma,
            &inp.beta,
            statistics(fixed, &mean, &var),
            eps,
            false,
        )
        .unwrap()
        .output
            + &r)
            .unwrap()
            .relu()
            .unwrap();
        let diff = values(&(&out.output - &composed).unwrap())
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(diff < 1e-12, "{case}: fused output differs by {diff}");
        let g = tensor(draw.normal(out.output.elem_count()), out.output.dims());
        let grads = analytic(&out.output, &g, &[&xv, &gv, &bv, &rv]);
        let loss = |t: &[Tensor]| weighted_sum(&run([&t[0], &t[1], &t[2], &t[3]]).output, &g);
        let inputs = [
            inp.x.clone(),
            inp.gamma.clone(),
            inp.beta.clone(),
            r.clone(),
        ];
        for (which, name) in ["dx", "dgamma", "dbeta", "dshortcut"].iter().enumerate() {
            check(&case, name, &inputs, which, &grads[which], &loss, &mut draw);
        }
    }
}
