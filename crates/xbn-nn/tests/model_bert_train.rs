//! The BERT encoder trains: every parameter receives a gradient and changes after one
//! SGD step, and a contrastive loss on a fixed batch falls over 20 AdamW steps.

use candle_core::{DType, Device, Tensor, Var};
use xbn_nn::model::{Backbone, BertConfig, BertEncoder, Input, TokenPooling, Tokens};
use xbn_nn::optim::{AdamW, AdamWConfig, Optimizer, ParamGroup};

fn batch(dev: &Device) -> (Input, Vec<usize>) {
    // Four classes of two sequences; class c's sequences share the token 10 + c. The second
    // row of each pair is shorter and padded.
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    let mut labels = Vec::new();
    for c in 0..4u32 {
        ids.extend([2, 10 + c, 20 + c, 30 + 2 * c, 3, 0]);
        mask.extend([1, 1, 1, 1, 1, 0]);
        ids.extend([2, 30 + 2 * c + 1, 10 + c, 3, 0, 0]);
        mask.extend([1, 1, 1, 1, 0, 0]);
        labels.extend([c as usize, c as usize]);
    }
    let input = Input::Tokens(Tokens {
        ids: Tensor::from_vec(ids, (8, 6), dev).unwrap(),
        mask: Tensor::from_vec(mask, (8, 6), dev).unwrap(),
    });
    (input, labels)
}

/// `Σ_{i≠j same} (1 − s_ij) + Σ_{i,j different} max(s_ij − 0.2, 0)` over cosine similarities.
fn contrastive(z: &Tensor, labels: &[usize]) -> Tensor {
    let s = z.matmul(&z.t().unwrap()).unwrap();
    let n = labels.len();
    let mut pos = vec![0f32; n * n];
    let mut neg = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            if i != j && labels[i] == labels[j] {
                pos[i * n + j] = 1.0;
            } else if labels[i] != labels[j] {
                neg[i * n + j] = 1.0;
            }
        }
    }
    let pos = Tensor::from_vec(pos, (n, n), z.device()).unwrap();
    let neg = Tensor::from_vec(neg, (n, n), z.device()).unwrap();
    let pull = ((1.0 - &s).unwrap() * pos).unwrap().sum_all().unwrap();
    let push = ((s - 0.2).unwrap().relu().unwrap() * neg)
        .unwrap()
        .sum_all()
        .unwrap();
    (pull + push).unwrap()
}

fn sgd(vars: &[(String, Var)], grads: &candle_core::backprop::GradStore, lr: f64) {
    for (name, v) in vars {
        let g = grads
            .get(v.as_tensor())
            .unwrap_or_else(|| panic!("{name} got no gradient"));
        v.set(&(v.as_tensor() - (g * lr).unwrap()).unwrap())
            .unwrap();
    }
}

fn trainable(bert: &BertEncoder) -> Vec<(String, Var)> {
    let g = bert.param_groups();
    g.backbone.into_iter().chain(g.head).collect()
}

#[test]
fn every_parameter_changes_after_one_step() {
    let dev = xbn_core::test_util::test_device();
    for (pooling, head) in [(TokenPooling::Mean, None), (TokenPooling::Cls, Some(8))] {
        let mut config = BertConfig::tiny(60, 16, 2, 2);
        config.pooling = pooling;
        config.head_dim = head;
        let bert = BertEncoder::new(&config, DType::F32, &dev).unwrap();
        let vars = trainable(&bert);
        assert_eq!(
            vars.len(),
            bert.roles().iter().count(),
            "no buffers in BERT"
        );
        let before: Vec<Tensor> = vars
            .iter()
            .map(|(_, v)| v.as_tensor().copy().unwrap())
            .collect();
        let (input, labels) = batch(&dev);
        let loss = contrastive(&bert.forward(&input, true).unwrap(), &labels);
        sgd(&vars, &loss.backward().unwrap(), 0.1);
        for ((name, v), b) in vars.iter().zip(&before) {
            let moved = (v.as_tensor() - b)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            // Word and position embeddings change only in the rows the batch uses.
            assert!(moved > 0.0, "{pooling:?}: {name} did not change");
        }
    }
}

#[test]
fn the_loss_falls_over_twenty_steps() {
    let dev = xbn_core::test_util::test_device();
    let bert = BertEncoder::new(&BertConfig::tiny(60, 16, 2, 2), DType::F32, &dev).unwrap();
    let mut opt = AdamW::new(
        vec![ParamGroup::new("backbone", 1e-3, 1e-4, trainable(&bert))],
        AdamWConfig::default(),
    )
    .unwrap();
    let (input, labels) = batch(&dev);
    let mut losses = Vec::new();
    for _ in 0..20 {
        let loss = contrastive(&bert.forward(&input, true).unwrap(), &labels);
        losses.push(loss.to_scalar::<f32>().unwrap());
        opt.step(&loss.backward().unwrap()).unwrap();
    }
    let (first, last) = (losses[0], losses[19]);
    assert!(
        last < 0.5 * first,
        "loss {first} → {last} over 20 steps: {losses:?}"
    );
}

#[test]
fn tokens_are_refused_by_image_backbones_and_images_by_bert() {
    let dev = Device::Cpu;
    let bert = BertEncoder::new(&BertConfig::tiny(60, 16, 1, 2), DType::F32, &dev).unwrap();
    let images = Tensor::zeros((2, 3, 8, 8), DType::F32, &dev).unwrap();
    let err = bert.forward(&images.into(), false).unwrap_err().to_string();
    assert!(err.contains("tokens for the bert backbone"), "{err}");
    let ids = Tensor::zeros((2, 70), DType::U32, &dev).unwrap();
    let too_long = Input::Tokens(Tokens {
        ids: ids.clone(),
        mask: ids.ones_like().unwrap(),
    });
    let err = bert.forward(&too_long, false).unwrap_err().to_string();
    assert!(err.contains("at most 64 tokens"), "{err}");
    let bad_mask = Input::Tokens(Tokens {
        ids,
        mask: Tensor::ones((2, 5), DType::U32, &dev).unwrap(),
    });
    assert!(bert.forward(&bad_mask, false).is_err());
}
