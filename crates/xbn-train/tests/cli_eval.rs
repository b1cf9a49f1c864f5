//! `xbn-train eval` on small embedding files whose metrics are computed by hand.

use std::path::Path;
use std::process::Command;

use candle_core::{Device, Tensor};

fn write(path: &Path, rows: &[[f32; 2]], labels: &[i64]) {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let e = Tensor::from_vec(flat, (rows.len(), 2), &Device::Cpu).unwrap();
    xbn_train::outputs::embeddings::save_embeddings(path, &e, labels).unwrap();
}

fn eval(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xbn-train"))
        .arg("eval")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn leave_one_out_json_matches_hand_computed_metrics() {
    // Cosine similarities: A·B = .8, A·C = .6, A·D = 0, B·C = .96, B·D = .6, C·D = .8.
    // Nearest neighbours: A → B, C; B → C, A, D; C → B, D, A; D → C, B.
    // Labels A0 B1 C0 D1: every first neighbour misses; at K = 2 A and D hit; at K = 3 all do.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.safetensors");
    write(
        &f,
        &[[1., 0.], [0.8, 0.6], [0.6, 0.8], [0., 1.]],
        &[0, 1, 0, 1],
    );
    let (ok, stdout, stderr) = eval(&[
        "--embeddings",
        f.to_str().unwrap(),
        "--protocol",
        "loo",
        "--k",
        "1,2,3",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["recall@1"], 0.0);
    assert_eq!(v["recall@2"], 0.5);
    assert_eq!(v["recall@3"], 1.0);
    assert_eq!(v["map@r"], 0.0);
    assert_eq!(v["r_precision"], 0.0);
    assert_eq!(v["precision@1"], 0.0);
    assert_eq!(v["queries"], 4);
    assert_eq!(v["excluded"], 0);
}

#[test]
fn query_gallery_json_and_table() {
    // q1 = (1,0) label 5 ranks g1 (label 6), g3 (5), g2 (5); q2 = (0,1) label 6 ranks g2 (5),
    // g3 (5), g1 (6): Recall@1 = 0, Recall@2 = 1/2, Recall@3 = 1.
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.safetensors");
    let g = dir.path().join("g.safetensors");
    write(&q, &[[1., 0.], [0., 1.]], &[5, 6]);
    write(&g, &[[0.9, 0.1], [0.1, 0.9], [0.7, 0.7]], &[6, 5, 5]);
    let args = [
        "--embeddings",
        q.to_str().unwrap(),
        "--gallery",
        g.to_str().unwrap(),
        "--protocol",
        "query-gallery",
        "--k",
        "1,2,3",
    ];
    let (ok, stdout, stderr) = eval(&[&args[..], &["--json"]].concat());
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (
            v["recall@1"].as_f64(),
            v["recall@2"].as_f64(),
            v["recall@3"].as_f64()
        ),
        (Some(0.0), Some(0.5), Some(1.0))
    );
    let (ok, table, _) = eval(&args);
    assert!(ok);
    assert!(table.to_lowercase().contains("recall@2"), "{table}");
}

#[test]
fn bad_invocations_fail_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.safetensors");
    write(&f, &[[1., 0.], [0., 1.]], &[0, 0]);
    let (ok, _, err) = eval(&[
        "--embeddings",
        f.to_str().unwrap(),
        "--protocol",
        "query-gallery",
    ]);
    assert!(!ok && err.contains("--gallery"), "{err}");
    let (ok, _, err) = eval(&["--embeddings", "/nonexistent/e.safetensors"]);
    assert!(!ok && err.contains("nonexistent"), "{err}");
    let (ok, _, err) = eval(&["--embeddings", f.to_str().unwrap(), "--k", "0"]);
    assert!(!ok && err.contains("--k"), "{err}");
}
