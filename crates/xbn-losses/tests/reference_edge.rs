//! Issue 16 against pytorch-metric-learning, in f32 and f64 (`reference/gen_loss_reference.py
//! edge`): duplicate rows, whose cosine must be exactly 1, and circle loss's softplus tail in
//! f32, where `log(1 + e^x)` rounds to 0 but `log1p` does not.

mod common;

use common::check;
use xbn_losses::{CircleLoss, ContrastiveLoss, Distance};

/// A 12 × 16 batch with rows 0 and 1 identical (same label), and a reference set holding a copy
/// of anchor 0 with its label: the duplicate pair has loss 0 and is not counted by AvgNonZero.
#[test]
fn contrastive_cosine_duplicates() {
    let loss = ContrastiveLoss::new(1.0, 0.5).with_distance(Distance::Cosine);
    check("contrastive_dup.safetensors", &loss, false);
}

/// 3 rows × 4 dims, γ = 80, m = 0.4: anchor 0's logit is −17.7, its loss 2e-8 in f32 (not 0),
/// so AvgNonZero divides by 2.
#[test]
fn circle_softplus_tail() {
    check("circle_f32.safetensors", &CircleLoss::default(), false);
}
