//! The binary end to end: `data-check` on a small folder dataset, a short `train` through the
//! command line with overrides, `embed` from its checkpoint, and configuration errors.

use std::process::{Command, Output};

fn xbn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xbn-train"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn data_check_prints_the_report_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for class in ["cat", "dog", "eel", "fox"] {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        for i in 0..3 {
            image::RgbImage::from_pixel(6, 5, image::Rgb([i * 40, 10, 200]))
                .save(dir.path().join(class).join(format!("{i}.png")))
                .unwrap();
            n += 1;
        }
    }
    let out = xbn(&[
        "data-check",
        "--dataset",
        "folder",
        "--root",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["dataset"], "folder");
    let images: u64 = v["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["images"].as_u64().unwrap())
        .sum();
    assert_eq!(images, n);
    let out = xbn(&["data-check", "--dataset", "imagenet", "--root", "."]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("imagenet"));
}

#[test]
fn train_then_embed_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let sets = [
        "data.image_size=16",
        "data.classes_per_batch=4",
        "data.images_per_class=2",
        "data.workers=1",
        "data.synthetic.classes=16",
        "model.channels=[8]",
        "model.embedding_dim=8",
        "memory.size=16",
        "memory.t_start=1",
        "run.log_every=1",
        "optim.warmup=1",
        "run.progress=false",
        "eval.k=[1, 2]",
    ];
    let mut args = vec![
        "train",
        "--name",
        "cli",
        "--output-dir",
        out_dir,
        "--iterations",
        "3",
    ];
    for s in &sets {
        args.extend(["--set", s]);
    }
    let out = xbn(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("untrained model: Recall@1"), "{stdout}");
    assert!(
        stdout.contains("trained model (3 iterations): Recall@1"),
        "{stdout}"
    );

    let run = dir.path().join("cli");
    let emb = dir.path().join("train.safetensors");
    let out = xbn(&[
        "embed",
        "--run",
        run.to_str().unwrap(),
        "--split",
        "train",
        "--output",
        emb.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (e, labels) = xbn_train::outputs::embeddings::load_embeddings(&emb).unwrap();
    assert_eq!(e.dims()[1], 8);
    assert_eq!(e.dims()[0], labels.len());
    assert!(labels.len() >= 16, "8 training classes of 4 to 8 images");

    // The test split exported by `embed` equals the embeddings the run saved.
    let test = dir.path().join("test.safetensors");
    let out = xbn(&[
        "embed",
        "--run",
        run.to_str().unwrap(),
        "-o",
        test.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let (a, la) = xbn_train::outputs::embeddings::load_embeddings(&test).unwrap();
    let (b, lb) =
        xbn_train::outputs::embeddings::load_embeddings(&run.join("embeddings.safetensors"))
            .unwrap();
    assert_eq!(la, lb);
    assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
}

#[test]
fn configuration_errors_are_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[memory]\nsize = 64\nweigth = 1.0\n").unwrap();
    let out = xbn(&["--config", cfg.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("weigth"), "{err}");
    let out = xbn(&["--device", "tpu", "--iterations", "1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tpu"));
}
