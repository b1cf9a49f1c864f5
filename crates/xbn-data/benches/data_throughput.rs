//! Throughput of decode + train augmentation (RandomResizedCrop(224), horizontal flip,
//! normalize, NCHW batches of 32) through the parallel loader, over a folder of JPEGs.
//! `run_data_bench.py` runs it beside PyTorch's DataLoader and prints one table.
//!
//! `cargo bench -p xbn-data --bench data_throughput -- --dir DIR [--generate 500] [--workers 2]
//! [--repeats 5] [--batch 32] [--size 224]`
//!
//! With `--generate N`, first writes N 500 × 500 JPEGs (quality 90, synthetic scenes at difficulty
//! 0.5, with pixel noise) into DIR if it holds fewer. Prints one JSON line: the images/s of every pass and
//! their median (a warm-up pass is not counted).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_core::Device;
use image::codecs::jpeg::JpegEncoder;
use xbn_data::loader::{Loader, LoaderConfig};
use xbn_data::pipeline::TrainTransform;
use xbn_data::synthetic::{Synthetic, SyntheticConfig};
use xbn_data::{DatasetIndex, Item, ItemSource, Role, Split};

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn jpegs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    files.sort();
    Ok(files)
}

fn generate(dir: &Path, n: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let config = SyntheticConfig {
        seed: 500,
        classes: n.div_ceil(4).max(2),
        min_images_per_class: 4,
        max_images_per_class: 4,
        image_size: 500,
        difficulty: 0.5,
        cache: false,
        ..SyntheticConfig::default()
    };
    let synth = Synthetic::new(config)?;
    for i in 0..n {
        let (class, instance) = (i as u32 / 4, i as u32 % 4);
        let image = synth.render(class, instance);
        let file = std::fs::File::create(dir.join(format!("{i:05}.jpg")))?;
        JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 90).encode_image(&image)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(arg("--dir", "target/data-bench-jpegs".to_string()));
    let generate_n: usize = arg("--generate", 0);
    let workers: usize = arg("--workers", 1);
    let repeats: usize = arg("--repeats", 5);
    let batch: usize = arg("--batch", 32);
    let size: u32 = arg("--size", 224);
    if generate_n > 0 && jpegs(&dir).map(|f| f.len()).unwrap_or(0) < generate_n {
        generate(&dir, generate_n)?;
    }
    let files = jpegs(&dir)?;
    anyhow::ensure!(!files.is_empty(), "no .jpg files in {}", dir.display());
    let items = files
        .iter()
        .enumerate()
        .map(|(i, path)| Item {
            source: ItemSource::File {
                path: path.clone(),
                crop: None,
            },
            label: i as u32,
            split: Split::Train,
            role: Role::Train,
        })
        .collect();
    let index = Arc::new(DatasetIndex {
        name: "bench".into(),
        items,
    });
    let transform = Arc::new(TrainTransform::new(size));
    let mut rates = Vec::new();
    for pass in 0..=repeats {
        let batches: Vec<Vec<usize>> = (0..files.len())
            .collect::<Vec<_>>()
            .chunks(batch)
            .map(|c| c.to_vec())
            .collect();
        let config = LoaderConfig {
            workers,
            seed: pass as u64,
            ..LoaderConfig::default()
        };
        let start = Instant::now();
        let loader = Loader::new(
            index.clone(),
            batches.into_iter(),
            transform.clone(),
            config,
            Device::Cpu,
        )?;
        let mut n = 0;
        for b in loader {
            n += b?.images.dim(0)?;
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        if pass > 0 {
            rates.push(rate);
        }
    }
    let mut sorted = rates.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let rates: Vec<String> = rates.iter().map(|r| format!("{r:.1}")).collect();
    println!(
        "{{\"impl\": \"xbn\", \"workers\": {workers}, \"images\": {}, \"size\": {size}, \
         \"batch\": {batch}, \"rates\": [{}], \"median\": {median:.1}}}",
        files.len(),
        rates.join(", ")
    );
    Ok(())
}
