//! The retrieval galleries' choices on cases small enough to work out by hand: neighbours,
//! AP@R, worst queries and confused class pairs.

use candle_core::{Device, Tensor};
use xbn_train::report::retrieval::{Neighbour, RetrievalOptions, analyse, average_precision_at_r};

/// Unit vectors at these angles (degrees).
fn at_angles(deg: &[f64]) -> Tensor {
    let rows: Vec<f32> = deg
        .iter()
        .flat_map(|d| {
            let r = d.to_radians();
            [r.cos() as f32, r.sin() as f32]
        })
        .collect();
    Tensor::from_vec(rows, (deg.len(), 2), &Device::Cpu).unwrap()
}

fn n(same: bool) -> Neighbour {
    Neighbour {
        row: 0,
        label: 0,
        similarity: 0.0,
        same_class: same,
    }
}

#[test]
fn average_precision_at_r_by_hand() {
    // R = 2, relevant at ranks 1 and 3: only rank 1 counts (P@1 = 1), divided by R = 2.
    assert_eq!(
        average_precision_at_r(&[n(true), n(false), n(true)], 2),
        0.5
    );
    // R = 2, relevant at rank 2: P@2 = 1/2, divided by 2.
    assert_eq!(average_precision_at_r(&[n(false), n(true)], 2), 0.25);
    // R = 3, all relevant: 1.
    assert_eq!(
        average_precision_at_r(&[n(true), n(true), n(true), n(false)], 3),
        1.0
    );
    assert_eq!(average_precision_at_r(&[n(true)], 0), 0.0);
}

#[test]
fn leave_one_out_neighbours_worst_queries_and_confused_pairs() {
    // Angles 0, 10, 25 | 90, 100, 170 with classes 0, 0, 1, 1, 2, 2.
    // Nearest (leave-one-out): 0→1, 1→0, 2→1 (class 0: wrong), 3→4 (wrong), 4→3 (wrong), 5→4.
    let x = at_angles(&[0.0, 10.0, 25.0, 90.0, 100.0, 170.0]);
    let labels = [0i64, 0, 1, 1, 2, 2];
    let options = RetrievalOptions {
        queries: 100,
        k: 2,
        worst: 3,
        pairs: 5,
        seed: 7,
    };
    let r = analyse(&x, &labels, None, &options).unwrap();
    assert_eq!(r.scored, 6);
    // More queries asked than exist: all of them, in row order.
    let rows: Vec<usize> = r.sampled.iter().map(|q| q.row).collect();
    assert_eq!(rows, vec![0, 1, 2, 3, 4, 5]);
    let q2 = &r.sampled[2];
    let got: Vec<(usize, bool)> = q2
        .neighbours
        .iter()
        .map(|n| (n.row, n.same_class))
        .collect();
    // Row 2 (25°): row 1 at 15°, then row 0 at 25°.
    assert_eq!(got, vec![(1, false), (0, false)]);
    assert!((q2.neighbours[0].similarity - 15f32.to_radians().cos()).abs() < 1e-6);
    assert!((q2.neighbours[1].similarity - 25f32.to_radians().cos()).abs() < 1e-6);
    // Each class has one other member (R = 1): AP@R is 1 when the nearest is right, else 0.
    let aps: Vec<f64> = r.sampled.iter().map(|q| q.average_precision).collect();
    assert_eq!(aps, vec![1.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    let worst: Vec<usize> = r.worst.iter().map(|q| q.row).collect();
    assert_eq!(worst, vec![2, 3, 4]);
    // Classes 1/2 confused by rows 3 and 4; classes 0/1 by row 2.
    let pairs: Vec<(i64, i64, usize, (usize, usize))> = r
        .confused
        .iter()
        .map(|p| (p.a, p.b, p.count, p.example))
        .collect();
    assert_eq!(pairs, vec![(1, 2, 2, (3, 4)), (0, 1, 1, (2, 1))]);
}

#[test]
fn query_against_gallery() {
    // Query at 0° (class 5); gallery: class 5 at 30°, class 6 at 5°.
    let q = at_angles(&[0.0]);
    let g = at_angles(&[30.0, 5.0]);
    let options = RetrievalOptions {
        queries: 1,
        k: 2,
        worst: 1,
        pairs: 1,
        seed: 0,
    };
    let r = analyse(&q, &[5], Some((&g, &[5, 6])), &options).unwrap();
    let got: Vec<(usize, i64, bool)> = r.sampled[0]
        .neighbours
        .iter()
        .map(|n| (n.row, n.label, n.same_class))
        .collect();
    assert_eq!(got, vec![(1, 6, false), (0, 5, true)]);
    // R = 1 (one class-5 gallery item), first neighbour wrong: AP@R = 0.
    assert_eq!(r.sampled[0].average_precision, 0.0);
    assert_eq!(r.confused[0].count, 1);
    assert_eq!((r.confused[0].a, r.confused[0].b), (5, 6));
}

#[test]
fn the_sample_is_seeded_and_skips_queries_without_relevant_references() {
    let angles: Vec<f64> = (0..40).map(|i| i as f64 * 9.0).collect();
    let x = at_angles(&angles);
    // Classes of 2, except rows 38 and 39, each alone in its class (no relevant reference).
    let mut labels: Vec<i64> = (0..40).map(|i| i / 2).collect();
    labels[39] = 100;
    let options = |seed| RetrievalOptions {
        queries: 5,
        k: 3,
        worst: 50,
        pairs: 3,
        seed,
    };
    let a = analyse(&x, &labels, None, &options(1)).unwrap();
    let b = analyse(&x, &labels, None, &options(1)).unwrap();
    let c = analyse(&x, &labels, None, &options(2)).unwrap();
    assert_eq!(a.sampled, b.sampled);
    assert_ne!(
        a.sampled.iter().map(|q| q.row).collect::<Vec<_>>(),
        c.sampled.iter().map(|q| q.row).collect::<Vec<_>>()
    );
    assert_eq!(a.sampled.len(), 5);
    assert_eq!(a.scored, 38);
    assert!(a.worst.iter().all(|q| q.row < 38));
    assert!(a.sampled.iter().all(|q| q.row < 38));
    assert_eq!(a.worst.len(), 38);
    assert!(a.sampled.iter().all(|q| q.neighbours.len() == 3));
}
