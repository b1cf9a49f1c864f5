//! `index` and `search` end to end through the binary, on a tiny trained run and a folder of
//! images built so that the nearest neighbours are known: each image's own path comes first
//! with similarity 1, and a copy at twice the size finds its original. Then the bad inputs:
//! unreadable images among readable ones, a run without checkpoint, a catalogue of another
//! model, an empty folder, k = 0; and the `.npy` outputs of `index` and `embed`.

mod train_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use image::{Rgb, RgbImage};
use serde_json::Value;
use xbn_train::checkpoint::{self, Checkpoint};
use xbn_train::commands::catalogue::{Catalogue, Embeddings};

fn xbn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xbn-train"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Runs `args`, which must succeed; returns (stdout, stderr).
fn ok(args: &[&str]) -> (String, String) {
    let out = xbn(args);
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{args:?}\n{o}\n{e}");
    (o, e)
}

/// Runs `args`, which must fail; returns stderr.
fn fails(args: &[&str]) -> String {
    let out = xbn(args);
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    e
}

/// A tiny run trained for 3 iterations: `dir/run`.
fn tiny_run(dir: &Path) -> PathBuf {
    let mut cfg = train_common::tiny_config(dir, "run");
    cfg.run.iterations = 3;
    cfg.run.eval_every = 0;
    cfg.run.measure_drift = 0;
    cfg.run.eval_untrained = false;
    xbn_train::train::train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap();
    dir.join("run")
}

/// A smooth 32 × 32 image: image `i`'s own low-frequency colour waves, so that resampling
/// changes it little while any two images differ everywhere.
fn smooth(i: u32) -> RgbImage {
    let f = |x: u32, y: u32, c: u32| -> u8 {
        let (fx, fy) = (
            1.0 + ((i * 3 + c) % 4) as f32,
            1.0 + ((i * 5 + 2 * c) % 3) as f32,
        );
        let phase = (i * 7 + c * 11) as f32 * 0.7;
        let t = (fx * x as f32 / 32.0 + fy * y as f32 / 32.0) * std::f32::consts::TAU + phase;
        (127.5 + 120.0 * t.sin()) as u8
    };
    RgbImage::from_fn(32, 32, |x, y| Rgb([f(x, y, 0), f(x, y, 1), f(x, y, 2)]))
}

/// `root/<class>/<i>.png` for 3 classes of 4 images; returns the paths in index order.
fn image_folder(root: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (c, class) in ["apple", "boat", "cloud"].iter().enumerate() {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for j in 0..4 {
            let p = root.join(class).join(format!("{j}.png"));
            smooth(c as u32 * 4 + j).save(&p).unwrap();
            paths.push(p);
        }
    }
    paths
}

/// The same image at twice the size (each pixel repeated 2 × 2).
fn doubled(src: &Path, dst: &Path) {
    let img = image::open(src).unwrap().into_rgb8();
    image::imageops::resize(&img, 64, 64, image::imageops::FilterType::Nearest)
        .save(dst)
        .unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn search_finds_each_image_itself_and_a_resized_copy_its_original() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path());
    let images = dir.path().join("images");
    let paths = image_folder(&images);
    let cat = dir.path().join("catalogue.safetensors");
    let (stdout, _) = ok(&[
        "index",
        "--run",
        s(&run),
        "--images",
        s(&images),
        "-o",
        s(&cat),
    ]);
    assert!(stdout.contains("12 embeddings"), "{stdout}");
    assert!(stdout.contains("with labels"), "{stdout}");

    let c = Catalogue::load(&cat).unwrap();
    let entries: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(c.entries, entries);
    assert_eq!(c.labels, Some(vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]));
    assert_eq!(c.classes, vec!["apple", "boat", "cloud"]);
    assert_eq!(c.model.embedding_dim, 16);
    assert_eq!(c.model.backbone, "small-cnn");
    assert_eq!(c.model.sha256.len(), 64);

    // Every image finds itself first, with similarity 1.
    let copy = dir.path().join("boat-copy.png");
    doubled(&paths[5], &copy);
    let mut args = vec!["search", "--run", s(&run), "--index", s(&cat), "--k", "3"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend(["--json", s(&copy)]);
    let (stdout, _) = ok(&args);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["k"], 3);
    assert_eq!(v["model"]["sha256"], c.model.sha256.as_str());
    let queries = v["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 13);
    for (q, p) in queries.iter().zip(&entries) {
        let first = &q["neighbours"][0];
        assert_eq!(q["query"], p.as_str());
        assert_eq!(first["path"], p.as_str(), "{q}");
        assert_eq!(first["rank"], 1);
        let sim = first["similarity"].as_f64().unwrap();
        assert!((sim - 1.0).abs() < 1e-4, "{p}: similarity {sim}");
        assert!(q["neighbours"][1]["similarity"].as_f64().unwrap() < sim);
        assert_eq!(q["neighbours"].as_array().unwrap().len(), 3);
    }
    // The doubled copy finds its original first.
    let copy_hits = &queries[12]["neighbours"];
    assert_eq!(copy_hits[0]["path"], entries[5].as_str(), "{copy_hits}");
    assert_eq!(copy_hits[0]["class"], "boat");
    assert_eq!(copy_hits[0]["label"], 1);

    // The table: one block per query, nearest first, class names as labels.
    let (table, _) = ok(&["search", "--run", s(&run), "--index", s(&cat), s(&copy)]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], format!("query 1: {}", copy.display()));
    assert!(lines[1].contains("rank") && lines[1].contains("similarity"));
    assert!(lines[2].trim_start().starts_with("1 "), "{table}");
    assert!(
        lines[2].contains("boat") && lines[2].ends_with(&entries[5]),
        "{table}"
    );
    assert_eq!(lines.len(), 2 + 10, "k = 10 by default:\n{table}");
}

#[test]
fn unreadable_images_are_skipped_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path());
    let images = dir.path().join("images");
    let paths = image_folder(&images);
    let broken = images.join("boat/broken.png");
    std::fs::write(&broken, b"not an image").unwrap();
    let truncated = images.join("cloud/truncated.jpg");
    let mut jpeg = Vec::new();
    smooth(1)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    std::fs::write(&truncated, &jpeg[..jpeg.len() / 2]).unwrap();

    let cat = dir.path().join("c.safetensors");
    let (stdout, stderr) = ok(&[
        "index",
        "--run",
        s(&run),
        "--images",
        s(&images),
        "-o",
        s(&cat),
    ]);
    assert!(stdout.contains("12 embeddings"), "{stdout}");
    assert!(stdout.contains("2 unreadable skipped"), "{stdout}");
    assert!(
        stderr.contains(&format!("skipped {}", broken.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("skipped {}", truncated.display())),
        "{stderr}"
    );
    let c = Catalogue::load(&cat).unwrap();
    assert_eq!(c.len(), 12);
    assert_eq!(c.skipped.len(), 2);
    assert!(!c.entries.iter().any(|e| e.contains("broken")));

    // A bad query among good ones is skipped and listed; the others are answered.
    let args = [
        "search",
        "--run",
        s(&run),
        "--index",
        s(&cat),
        "--json",
        s(&broken),
        s(&paths[0]),
    ];
    let (stdout, stderr) = ok(&args);
    assert!(
        stderr.contains(&format!("skipped query {}", broken.display())),
        "{stderr}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["queries"].as_array().unwrap().len(), 1);
    assert_eq!(v["skipped"][0]["query"], s(&broken));
    assert_eq!(v["queries"][0]["neighbours"][0]["path"], s(&paths[0]));

    // Nothing readable at all is an error naming the first reason.
    let e = fails(&["search", "--run", s(&run), "--index", s(&cat), s(&broken)]);
    assert!(e.contains("none of the 1 images could be read"), "{e}");
    assert!(e.contains(&broken.display().to_string()), "{e}");
    let only_broken = dir.path().join("only-broken/x");
    std::fs::create_dir_all(&only_broken).unwrap();
    std::fs::copy(&broken, only_broken.join("a.png")).unwrap();
    let e = fails(&[
        "index",
        "--run",
        s(&run),
        "--images",
        s(only_broken.parent().unwrap()),
        "-o",
        s(&dir.path().join("none.safetensors")),
    ]);
    assert!(e.contains("none of the 1 images could be read"), "{e}");
}

#[test]
fn bad_runs_catalogues_folders_and_k_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path());
    let images = dir.path().join("images");
    let paths = image_folder(&images);
    let cat = dir.path().join("c.safetensors");
    ok(&[
        "index",
        "--run",
        s(&run),
        "--images",
        s(&images),
        "-o",
        s(&cat),
    ]);
    let q = s(&paths[0]);

    // A run folder without a checkpoint.
    let untrained = dir.path().join("untrained");
    std::fs::create_dir_all(&untrained).unwrap();
    std::fs::copy(run.join("config.toml"), untrained.join("config.toml")).unwrap();
    for cmd in ["index", "search"] {
        let e = match cmd {
            "index" => fails(&[
                "index",
                "--run",
                s(&untrained),
                "--images",
                s(&images),
                "-o",
                s(&cat),
            ]),
            _ => fails(&["search", "--run", s(&untrained), "--index", s(&cat), q]),
        };
        assert!(e.contains("no checkpoint"), "{cmd}: {e}");
        assert!(e.contains(&untrained.display().to_string()), "{cmd}: {e}");
        assert!(e.contains("--checkpoint"), "{cmd}: {e}");
    }

    // A catalogue built by another model of the same shape: the hashes differ.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(run.join("config.toml"), other.join("config.toml")).unwrap();
    let mut ck = Checkpoint::load(&run.join(checkpoint::LAST), &Device::Cpu).unwrap();
    let name = ck
        .tensors
        .keys()
        .find(|k| k.starts_with("model."))
        .unwrap()
        .clone();
    let t = (&ck.tensors[&name] * 2.0).unwrap();
    ck.tensors.insert(name, t);
    ck.save(&other.join(checkpoint::LAST)).unwrap();
    let e = fails(&["search", "--run", s(&other), "--index", s(&cat), q]);
    let c = Catalogue::load(&cat).unwrap();
    assert!(e.contains("built by another model"), "{e}");
    assert!(
        e.contains(&c.model.sha256),
        "names the catalogue's model: {e}"
    );
    let theirs = xbn_train::commands::run_model::read_model_tensors(
        &other.join(checkpoint::LAST),
        &Device::Cpu,
    )
    .unwrap()
    .1;
    assert!(e.contains(&theirs), "names the run's model: {e}");

    // A damaged checkpoint (one byte of its last tensor flipped) is refused, not used.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    std::fs::copy(run.join("config.toml"), damaged.join("config.toml")).unwrap();
    let mut bytes = std::fs::read(run.join(checkpoint::LAST)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(damaged.join(checkpoint::LAST), bytes).unwrap();
    let e = fails(&["search", "--run", s(&damaged), "--index", s(&cat), q]);
    assert!(e.contains("is damaged"), "{e}");
    assert!(
        e.contains(&damaged.join(checkpoint::LAST).display().to_string()),
        "{e}"
    );

    // A catalogue of another dimension.
    let mut wide = c.clone();
    wide.embeddings = Embeddings::Loaded(
        candle_core::Tensor::ones((12, 24), candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    wide.model.embedding_dim = 24;
    let wide_path = dir.path().join("wide.safetensors");
    wide.save(&wide_path).unwrap();
    let e = fails(&["search", "--run", s(&run), "--index", s(&wide_path), q]);
    assert!(e.contains("of another dimension"), "{e}");
    assert!(e.contains("dim 24") && e.contains("dim 16"), "{e}");

    // An empty folder.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = fails(&[
        "index",
        "--run",
        s(&run),
        "--images",
        s(&empty),
        "-o",
        s(&cat),
    ]);
    assert!(
        e.contains("no images") && e.contains(&empty.display().to_string()),
        "{e}"
    );

    // k = 0.
    let e = fails(&[
        "search",
        "--run",
        s(&run),
        "--index",
        s(&cat),
        "--k",
        "0",
        q,
    ]);
    assert!(e.contains("--k 0") && e.contains("at least 1"), "{e}");

    // No query at all.
    let e = fails(&["search", "--run", s(&run), "--index", s(&cat)]);
    assert!(e.contains("no query"), "{e}");
}

#[test]
fn index_and_embed_write_npy_for_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path());
    let images = dir.path().join("images");
    let paths = image_folder(&images);
    let npy = dir.path().join("cat.npy");
    let (stdout, _) = ok(&[
        "index",
        "--run",
        s(&run),
        "--images",
        s(&images),
        "-o",
        s(&npy),
    ]);
    for f in ["cat.npy", "cat_labels.npy", "cat_meta.json"] {
        assert!(dir.path().join(f).is_file(), "{f}: {stdout}");
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cat_meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["paths"][3], s(&paths[3]));
    assert_eq!(meta["classes"][2], "cloud");
    let set = xbn_eval::load_embeddings(&npy, None, &Device::Cpu).unwrap();
    assert_eq!(set.embeddings.dims(), &[12, 16]);
    assert_eq!(set.labels[11], 2);
    // The .npy catalogue is searchable too, and finds the same as the safetensors one.
    let (stdout, _) = ok(&[
        "search",
        "--run",
        s(&run),
        "--index",
        s(&npy),
        "--json",
        s(&paths[7]),
    ]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["queries"][0]["neighbours"][0]["path"], s(&paths[7]));

    // A split of the run's dataset, and `embed` to .npy.
    let split = dir.path().join("split.safetensors");
    ok(&[
        "index",
        "--run",
        s(&run),
        "--split",
        "test",
        "-o",
        s(&split),
    ]);
    let c = Catalogue::load(&split).unwrap();
    let emb = dir.path().join("test.npy");
    ok(&["embed", "--run", s(&run), "-o", s(&emb)]);
    let set = xbn_eval::load_embeddings(&emb, None, &Device::Cpu).unwrap();
    assert_eq!(Some(set.labels), c.labels);
    assert_eq!(
        set.embeddings.to_vec2::<f32>().unwrap(),
        c.embeddings.to_tensor().unwrap().to_vec2::<f32>().unwrap()
    );
}
