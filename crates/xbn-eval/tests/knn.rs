//! Blocked k-NN against a brute-force full sort, ties included.

use candle_core::Tensor;
use proptest::prelude::*;
use xbn_eval::{BlockPlan, EvalOptions, Metric, Protocol, evaluate, knn};

/// Brute force on small integer vectors (all products exact in f32): for each query, every
/// reference sorted by (squared distance ascending, index ascending).
fn brute_force(q: &[Vec<i32>], r: &[Vec<i32>], loo: bool, k: usize) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, a) in q.iter().enumerate() {
        let mut all: Vec<(i64, u32)> = r
            .iter()
            .enumerate()
            .filter(|&(j, _)| !(loo && i == j))
            .map(|(j, b)| {
                let d: i64 = a.iter().zip(b).map(|(x, y)| ((x - y) as i64).pow(2)).sum();
                (d, j as u32)
            })
            .collect();
        all.sort();
        out.extend(all.iter().take(k).map(|p| p.1));
    }
    out
}

fn tensor(rows: &[Vec<i32>]) -> Tensor {
    let d = rows[0].len();
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_vec(flat, (rows.len(), d), &xbn_core::test_util::test_device()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Euclidean k-NN on coarse integer data (many exact ties and duplicate rows) equals the
    /// brute-force order for any tiling, plain or symmetric, in both protocols.
    #[test]
    fn euclidean_knn_equals_brute_force(
        rows in proptest::collection::vec(proptest::collection::vec(-2i32..3, 3), 2..90),
        split in 1usize..89,
        k in 1usize..40,
        q_b in 1usize..40,
        r_b in 1usize..40,
        symmetric in proptest::bool::ANY,
    ) {
        let opts = EvalOptions {
            metric: Metric::Euclidean,
            block: Some(BlockPlan { query_block: q_b, reference_block: r_b }),
            symmetric,
            ..EvalOptions::default()
        };
        let x = tensor(&rows);
        let nn = knn(&x, None, k, &opts).unwrap();
        let k_loo = k.min(rows.len() - 1);
        prop_assert_eq!(nn.k, k_loo);
        prop_assert_eq!(nn.indices, brute_force(&rows, &rows, true, k_loo));

        let split = split.min(rows.len() - 1);
        let (q, r) = rows.split_at(split);
        let nn = knn(&tensor(q), Some(&tensor(r)), k, &opts).unwrap();
        prop_assert_eq!(nn.indices, brute_force(q, r, false, k.min(r.len())));
    }
}

#[test]
fn duplicates_of_the_query_are_kept_under_leave_one_out() {
    // Rows 0, 2 and 3 are identical: each one's nearest neighbours are the other two.
    let rows = vec![vec![1, 0], vec![0, 1], vec![1, 0], vec![1, 0]];
    let nn = knn(&tensor(&rows), None, 2, &EvalOptions::default()).unwrap();
    assert_eq!(nn.indices, vec![2, 3, 0, 2, 0, 3, 0, 2]);
    assert_eq!(nn.scores, vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn euclidean_scores_are_distances() {
    let rows = vec![vec![0, 0], vec![3, 4], vec![6, 8]];
    let o = EvalOptions {
        metric: Metric::Euclidean,
        ..EvalOptions::default()
    };
    let nn = knn(&tensor(&rows), None, 2, &o).unwrap();
    assert_eq!(nn.indices, vec![1, 2, 0, 2, 1, 0]);
    assert_eq!(nn.scores, vec![5.0, 10.0, 5.0, 5.0, 5.0, 10.0]);
}

#[test]
fn leave_one_out_metrics_by_hand() {
    // 1-D points 0, 1, 3, 10, 11 with labels a, a, b, b, c (label c has no other member).
    // Euclidean neighbours: 0→[1, 3, 10, 11], 1→[0, 3, 10, 11], 3→[1, 0, 10, 11],
    // 10→[11, 3, 1, 0]. Relevant: 0:{1}, 1:{0}, 3:{10}, 10:{3}; R = 1 each.
    // First hits (0-based): 0, 0, 2, 1 → recall@1 = 2/4, recall@2 = 3/4, recall@3 = 1.
    // AP@R with R = 1: 1, 1, 0, 0 → MAP@R = 0.5 = R-precision = precision@1.
    let x = Tensor::new(
        &[[0f32], [1.], [3.], [10.], [11.]],
        &xbn_core::test_util::test_device(),
    )
    .unwrap();
    let y = Tensor::new(&[1i64, 1, 2, 2, 3], &candle_core::Device::Cpu).unwrap();
    let o = EvalOptions {
        metric: Metric::Euclidean,
        ..EvalOptions::default()
    };
    let r = evaluate(&x, &y, None, Protocol::LeaveOneOut, &[1, 2, 3], &o).unwrap();
    assert_eq!(r.recall, vec![0.5, 0.75, 1.0]);
    assert_eq!((r.queries, r.excluded), (5, 1));
    assert_eq!(
        (r.map_at_r, r.r_precision, r.precision_at_1),
        (0.5, 0.5, 0.5)
    );
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["recall@2"], 0.75);
    assert_eq!(json["excluded"], 1);
}

#[test]
fn max_r_cap_reproduces_pml_with_small_k() {
    // PML 2.9, AccuracyCalculator(k=1) on x = [[0],[1],[5],[20],[21]], y = [0,0,0,1,1]
    // (default FaissKNN, L2): map@r 0.7, r_precision 1.0, precision_at_1 1.0;
    // with k="max_bin_count": map@r 1.0.
    let x = Tensor::new(
        &[[0f32], [1.], [5.], [20.], [21.]],
        &xbn_core::test_util::test_device(),
    )
    .unwrap();
    let y = Tensor::new(&[0i64, 0, 0, 1, 1], &candle_core::Device::Cpu).unwrap();
    let capped = EvalOptions {
        metric: Metric::Euclidean,
        max_r: Some(1),
        ..EvalOptions::default()
    };
    let r = evaluate(&x, &y, None, Protocol::LeaveOneOut, &[1], &capped).unwrap();
    assert!((r.map_at_r - 0.7).abs() < 1e-12, "{}", r.map_at_r);
    assert_eq!((r.r_precision, r.precision_at_1), (1.0, 1.0));
    assert!(
        r.warnings.iter().any(|w| w.contains("not exact")),
        "{:?}",
        r.warnings
    );
    let exact = EvalOptions {
        max_r: None,
        ..capped
    };
    let r = evaluate(&x, &y, None, Protocol::LeaveOneOut, &[1], &exact).unwrap();
    assert_eq!(r.map_at_r, 1.0);
    assert!(r.warnings.is_empty());
}
