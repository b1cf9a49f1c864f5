//! How hard is the synthetic default? Recall@1 (leave-one-out on the test split) of untrained
//! baselines: raw pixels, a Gaussian random projection of the pixels and a colour histogram.
//! Also measures rendering speed, and with `--dump DIR` writes the images (`u8`, NHWC) and
//! labels for the Python calibration script `benches/synthetic_calibrate.py`.
//!
//! `cargo bench -p xbn-data --bench synthetic_baselines -- [--dump DIR] [--classes N]
//! [--difficulty D] [--size S] [--grid FILE.png]`

use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use xbn_data::synthetic::{Synthetic, SyntheticConfig};
use xbn_data::{ImageProvider, Split};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Leave-one-out Recall@1 of features `x` (rows, L2-normalized here) with labels.
fn recall_at_1(x: &Tensor, labels: &[u32]) -> candle_core::Result<f64> {
    let norm = x.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    let x = x.broadcast_div(&norm)?;
    let sim = x.matmul(&x.t()?)?;
    let n = labels.len();
    let eye = Tensor::eye(n, DType::F32, x.device())?;
    let sim = (sim - (eye * 1e9)?)?;
    let nn: Vec<u32> = sim.argmax(1)?.to_vec1()?;
    let hits = nn
        .iter()
        .enumerate()
        .filter(|&(i, &j)| labels[i] == labels[j as usize])
        .count();
    Ok(hits as f64 / n as f64)
}

fn main() -> anyhow::Result<()> {
    let mut config = SyntheticConfig::default();
    if let Some(c) = arg("--classes") {
        config.classes = c.parse()?;
    }
    if let Some(d) = arg("--difficulty") {
        config.difficulty = d.parse()?;
    }
    if let Some(s) = arg("--size") {
        config.image_size = s.parse()?;
    }
    let synth = Arc::new(Synthetic::new(config.clone())?);
    let index = synth.index();
    let start = Instant::now();
    let images: Vec<Vec<u8>> = (0..synth.len())
        .map(|i| synth.image(i).map(|im| im.into_raw()))
        .collect::<Result<_, _>>()?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "config {config:?}\nrendered {} images in {secs:.3} s: {:.0} images/s on one core",
        images.len(),
        images.len() as f64 / secs
    );
    let test = index.split_indices(Split::Test);
    let labels: Vec<u32> = test.iter().map(|&i| index.items[i].label).collect();
    let d = images[0].len();
    let pixels: Vec<f32> = test
        .iter()
        .flat_map(|&i| images[i].iter().map(|&v| v as f32 / 255.0))
        .collect();
    let x = Tensor::from_vec(pixels, (test.len(), d), &Device::Cpu)?;
    let centred = x.broadcast_sub(&x.mean_keepdim(0)?)?;
    println!(
        "test split: {} images of {} classes",
        test.len(),
        config.classes - config.train_classes()
    );
    println!(
        "Recall@1 raw pixels (cosine, centred): {:.4}",
        recall_at_1(&centred, &labels)?
    );
    let proj = Tensor::randn(0f32, 1.0, (d, 128), &Device::Cpu)?;
    println!(
        "Recall@1 random projection to 128-d:   {:.4}",
        recall_at_1(&centred.matmul(&proj)?, &labels)?
    );
    let hist: Vec<f32> = test
        .iter()
        .flat_map(|&i| {
            let mut h = vec![0f32; 64];
            for p in images[i].chunks_exact(3) {
                h[(p[0] as usize / 64) * 16 + (p[1] as usize / 64) * 4 + p[2] as usize / 64] += 1.0;
            }
            h.into_iter().map(f32::sqrt)
        })
        .collect();
    let h = Tensor::from_vec(hist, (test.len(), 64), &Device::Cpu)?;
    println!(
        "Recall@1 colour histogram (4³ bins):   {:.4}",
        recall_at_1(&h, &labels)?
    );
    println!(
        "chance: {:.4}",
        1.0 / (config.classes - config.train_classes()) as f64
    );
    if let Some(dir) = arg("--dump") {
        std::fs::create_dir_all(&dir)?;
        let all: Vec<u8> = images.concat();
        std::fs::write(format!("{dir}/images.u8"), all)?;
        let meta: Vec<String> = index
            .items
            .iter()
            .map(|it| {
                format!(
                    "{} {}",
                    it.label,
                    if it.split == Split::Train { 0 } else { 1 }
                )
            })
            .collect();
        std::fs::write(format!("{dir}/labels.txt"), meta.join("\n"))?;
        let n = config.image_size;
        println!("dumped to {dir} ({} images of {n}x{n}x3)", images.len());
    }
    if let Some(path) = arg("--grid") {
        let n = config.image_size;
        let mut grid = image::RgbImage::new(n * 8, n * 8);
        for row in 0..8u32 {
            for col in 0..8u32 {
                let im = synth.render(row, col);
                image::imageops::replace(&mut grid, &im, (col * n) as i64, (row * n) as i64);
            }
        }
        grid.save(&path)?;
        println!("grid of classes 0..8 × instances 0..8 saved to {path}");
    }
    Ok(())
}
