//! The drift diagnostic: how far stored memory entries are from the embeddings the current
//! weights give the same views, before and after moment matching, by age, and against the
//! affine bound ([`super::affine_bound`]).
//!
//! For a sample `S` of memory entries, stored (as enqueued) embeddings `m_i`, adapted entries
//! `m̂_i` and fresh embeddings `f_θ(x_i)` of the *same view* `x_i` (the entry's image through the
//! augmentation it was enqueued with, replayed from its seed; the evaluation transform for
//! entries enqueued without augmentation):
//! `drift_before = (1/|S|) Σ_i ‖m_i − f_θ(x_i)‖₂`, `drift_after = (1/|S|) Σ_i ‖m̂_i − f_θ(x_i)‖₂`,
//! `affine = (1/|S|) Σ_i ‖A(m_i) − f_θ(x_i)‖₂` with `A` the sample's least-squares per-dimension
//! affine map, and `removed_fraction = (before − after) / (before − affine)`. The same figures
//! are reported per age bucket (iterations since enqueue: 0–9, 10–99, 100–999, 1000+), `A` being
//! the one map of the whole sample (moment matching, too, applies one map to every entry).
//! `f_θ(x_i)` is computed as training computes embeddings (BatchNorm with the statistics of
//! batches of the training batch size), and the BatchNorm running statistics are restored
//! afterwards, so the diagnostic does not change the run.

use candle_core::Tensor;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use super::affine_bound::{affine_fit, row_distances};
use crate::error::{Result, TrainError};
use crate::outputs::metrics::{AgeDrift, DriftRecord};

/// Age buckets, `(label, first age, last age)`.
pub const AGE_BUCKETS: [(&str, u64, u64); 4] = [
    ("0-9", 0, 9),
    ("10-99", 10, 99),
    ("100-999", 100, 999),
    ("1000+", 1000, u64::MAX),
];

/// The [`DriftRecord`] of stored, adapted and fresh embeddings of the same `n` views
/// (`n × d`, `n ≥ 1`), whose entries are `ages[i]` iterations old.
pub fn drift_diagnostic(
    stored: &Tensor,
    adapted: &Tensor,
    fresh: &Tensor,
    ages: &[u64],
) -> Result<DriftRecord> {
    let n = stored.dim(0)?;
    if ages.len() != n {
        return Err(TrainError::RowCount {
            embeddings: n,
            what: "ages",
            count: ages.len(),
        });
    }
    let host = |t: Tensor| -> Result<Vec<f64>> { Ok(t.to_vec1::<f64>()?) };
    let before = host(row_distances(stored, fresh)?)?;
    let after = host(row_distances(adapted, fresh)?)?;
    let affine = host(row_distances(&affine_fit(stored, fresh)?, fresh)?)?;
    let mean = |v: &[f64], keep: &dyn Fn(usize) -> bool| {
        let (sum, count) = v
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .fold((0.0, 0usize), |(s, c), (_, x)| (s + x, c + 1));
        (sum / count.max(1) as f64, count)
    };
    let all = |_: usize| true;
    let (b, _) = mean(&before, &all);
    let (a, _) = mean(&after, &all);
    let (f, _) = mean(&affine, &all);
    let removable = b - f;
    let by_age = AGE_BUCKETS
        .iter()
        .filter_map(|&(label, lo, hi)| {
            let keep = |i: usize| (lo..=hi).contains(&ages[i]);
            let (before, count) = mean(&before, &keep);
            (count > 0).then(|| AgeDrift {
                ages: label.to_string(),
                n: count,
                before,
                after: mean(&after, &keep).0,
                affine: mean(&affine, &keep).0,
            })
        })
        .collect();
    Ok(DriftRecord {
        before: b,
        after: a,
        sample: n,
        affine: Some(f),
        removed_fraction: (removable > 1e-9 * b.max(1e-12)).then(|| (b - a) / removable),
        by_age,
    })
}

/// `min(n, len)` distinct positions out of `0..len`, sorted, drawn with `seed`.
pub fn sample_positions(len: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = sample(&mut rng, len, n.min(len)).into_vec();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use xbn_core::{CrossBatchNorm, MomentMatcher, XbnConfig};

    use super::*;

    fn random(n: usize, d: usize, seed: u64) -> Tensor {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let v: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        Tensor::from_vec(v, (n, d), &Device::Cpu).unwrap()
    }

    /// Stored = a ∘ fresh + b with known per-dimension a > 0 and b: an affine map undoes it
    /// exactly, and moment matching to the fresh moments removes nearly all of it.
    #[test]
    fn a_planted_affine_drift_has_a_zero_bound_and_xbn_removes_it() {
        let (n, d) = (256, 8);
        let fresh = random(n, d, 1);
        let scale: Vec<f64> = (0..d).map(|k| 0.5 + 0.2 * k as f64).collect();
        let shift: Vec<f64> = (0..d).map(|k| 0.3 - 0.1 * k as f64).collect();
        let scale = Tensor::from_vec(scale, (1, d), &Device::Cpu).unwrap();
        let shift = Tensor::from_vec(shift, (1, d), &Device::Cpu).unwrap();
        let stored = fresh
            .broadcast_mul(&scale)
            .unwrap()
            .broadcast_add(&shift)
            .unwrap();
        let mut xbn = CrossBatchNorm::new(XbnConfig {
            renormalize: false,
            ..XbnConfig::default()
        })
        .unwrap();
        let adapted = xbn.adapt(&stored, &fresh).unwrap();
        let ages: Vec<u64> = (0..n as u64).map(|i| i * 7).collect();
        let r = drift_diagnostic(&stored, &adapted, &fresh, &ages).unwrap();
        assert!(r.before > 0.3, "a real drift: {r:?}");
        assert!(r.affine.unwrap() < 1e-9, "an affine map undoes it: {r:?}");
        assert!(r.after < 0.01 * r.before, "XBN removes it: {r:?}");
        assert!(r.removed_fraction.unwrap() > 0.99, "{r:?}");
        // Ages 0, 7, …, 1785: every bucket is present and the counts add up.
        let counts: Vec<(&str, usize)> = r.by_age.iter().map(|b| (b.ages.as_str(), b.n)).collect();
        assert_eq!(
            counts,
            vec![("0-9", 2), ("10-99", 13), ("100-999", 128), ("1000+", 113)]
        );
    }

    /// Stored = fresh rotated by 90° in each pair of dimensions: no per-dimension map can undo
    /// a rotation, so the bound stays large, and moment matching removes next to nothing.
    #[test]
    fn a_rotation_leaves_a_clear_affine_bound() {
        let (n, d) = (256, 8);
        let fresh = random(n, d, 2);
        // (x, y) → (−y, x) in dimensions (0, 1), (2, 3), …
        let cols: Vec<Tensor> = (0..d)
            .map(|k| {
                let partner = fresh.narrow(1, k ^ 1, 1).unwrap();
                if k % 2 == 0 {
                    partner.neg().unwrap()
                } else {
                    partner
                }
            })
            .collect();
        let stored = Tensor::cat(&cols, 1).unwrap();
        let mut xbn = CrossBatchNorm::new(XbnConfig {
            renormalize: false,
            ..XbnConfig::default()
        })
        .unwrap();
        let adapted = xbn.adapt(&stored, &fresh).unwrap();
        let r = drift_diagnostic(&stored, &adapted, &fresh, &vec![5; n]).unwrap();
        // Uncorrelated dimensions: the best per-dimension map is the mean (a = 0), which leaves
        // ‖f − f̄‖ ≈ ‖f‖, while the rotation moved each row by √2·‖f‖: a bound of about 1/√2.
        assert!(r.affine.unwrap() > 0.6 * r.before, "{r:?}");
        // The moments already match, so moment matching changes next to nothing.
        assert!(r.after > 0.95 * r.before, "{r:?}");
        assert!(r.removed_fraction.unwrap() < 0.1, "{r:?}");
        assert_eq!(r.by_age.len(), 1);
        assert_eq!(r.by_age[0].n, n);
    }

    #[test]
    fn ages_must_match_the_sample() {
        let x = random(4, 2, 3);
        let err = drift_diagnostic(&x, &x, &x, &[0, 1]).unwrap_err();
        assert_eq!(err.to_string(), "4 embeddings but 2 ages");
    }
}
