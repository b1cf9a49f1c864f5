//! Embedding arbitrary inputs with a trained model (`index`, `search`): images through the
//! model's evaluation transform, decoded in parallel, an unreadable image skipped and reported
//! instead of stopping the work; texts through the model's tokenizer.

use std::io::IsTerminal;

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;
use xbn_data::ItemSource;
use xbn_data::pipeline::{Scratch, Transform, batch_tensor, load_image};
use xbn_nn::model::{Input, Tokens};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::train::images::ImageTransform;
use crate::train::network::Model;
use crate::train::progress::styled_bar;

/// An input that could not be read or decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Position of the input in the list given.
    pub position: usize,
    /// The input (its path).
    pub input: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Embeddings of the inputs that could be read.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// `(kept.len() × d)` embeddings.
    pub embeddings: Tensor,
    /// Positions (in the list given) of the rows of `embeddings`, increasing.
    pub kept: Vec<usize>,
    /// The inputs skipped, in order.
    pub skipped: Vec<Skipped>,
}

/// Embeds the images `sources` with the evaluation transform of `model` (as `cfg`'s evaluation
/// uses it) in batches of `cfg.eval.batch_size`, with a progress bar on a terminal. An image
/// that cannot be read or decoded is skipped and listed; none readable is an error naming
/// `what` and the first reason.
pub fn embed_images(
    model: &Model,
    cfg: &TrainConfig,
    sources: &[ItemSource],
    what: &str,
    device: &Device,
) -> Result<Embedded> {
    let spec = model.backbone.input_spec();
    let Some(spec) = spec.images() else {
        return Err(TrainError::Inputs {
            what: what.to_string(),
            message: format!(
                "the run's backbone `{}` embeds texts, not images (use --texts)",
                model.backbone.name()
            ),
        });
    };
    let transform = ImageTransform::eval(spec, cfg.data.eval_resize).transform();
    let (h, w) = transform.output_size();
    let bar = styled_bar(
        sources.len(),
        sources.len() > 1 && std::io::stderr().is_terminal(),
        "{bar:30} {pos}/{len} images  {per_sec}  ETA {eta}",
    );
    let mut parts = Vec::new();
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    let batch = cfg.eval.batch_size.max(1);
    for (b, chunk) in sources.chunks(batch).enumerate() {
        let rendered: Vec<std::result::Result<Vec<f32>, String>> = chunk
            .par_iter()
            .map_init(Scratch::new, |scratch, source| {
                render(source, transform.as_ref(), scratch, 3 * h * w)
            })
            .collect();
        let mut data = Vec::with_capacity(chunk.len() * 3 * h * w);
        let mut n = 0;
        for (i, (r, source)) in rendered.into_iter().zip(chunk).enumerate() {
            let position = b * batch + i;
            match r {
                Ok(pixels) => {
                    data.extend_from_slice(&pixels);
                    kept.push(position);
                    n += 1;
                }
                Err(reason) => skipped.push(Skipped {
                    position,
                    input: source.describe(),
                    reason,
                }),
            }
        }
        if n > 0 {
            let images = batch_tensor(data, n, h, w, device)?;
            parts.push(model.backbone.embed(&Input::Images(images))?);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    if parts.is_empty() {
        let first = skipped
            .first()
            .map(|s| format!(" (first: {}: {})", s.input, s.reason))
            .unwrap_or_default();
        return Err(TrainError::Inputs {
            what: what.to_string(),
            message: format!("none of the {} images could be read{first}", sources.len()),
        });
    }
    Ok(Embedded {
        embeddings: Tensor::cat(&parts, 0)?.to_dtype(DType::F32)?,
        kept,
        skipped,
    })
}

/// One image through `transform`, or why it could not be read.
fn render(
    source: &ItemSource,
    transform: &dyn Transform,
    scratch: &mut Scratch,
    len: usize,
) -> std::result::Result<Vec<f32>, String> {
    // The reason without the path, which the caller shows beside it.
    let reason = |e: xbn_data::DataError| {
        let text = e.to_string();
        let prefix = format!("{}: ", source.describe());
        text.strip_prefix(&prefix)
            .map_or(text.clone(), str::to_string)
    };
    let image = load_image(source).map_err(reason)?;
    let mut out = vec![0f32; len];
    // The evaluation transform draws no random numbers; any generator does.
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    transform
        .apply(&image, &mut rng, scratch, &mut out)
        .map_err(reason)?;
    Ok(out)
}

/// Embeds `texts` with the tokenizer of `model` in batches of `batch_size`; an image model is
/// an error naming `what`.
pub fn embed_texts(
    model: &Model,
    texts: &[&str],
    batch_size: usize,
    what: &str,
    device: &Device,
) -> Result<Tensor> {
    let Some(tokenizer) = &model.tokenizer else {
        return Err(TrainError::Inputs {
            what: what.to_string(),
            message: format!(
                "the run's backbone `{}` embeds images, not texts",
                model.backbone.name()
            ),
        });
    };
    if texts.is_empty() {
        return Err(TrainError::Inputs {
            what: what.to_string(),
            message: "no texts".into(),
        });
    }
    let bar = styled_bar(
        texts.len(),
        texts.len() > batch_size && std::io::stderr().is_terminal(),
        "{bar:30} {pos}/{len} texts  {per_sec}  ETA {eta}",
    );
    let mut parts = Vec::new();
    for chunk in texts.chunks(batch_size.max(1)) {
        let (ids, mask) = tokenizer.encode(chunk)?.to_tensors(device)?;
        parts.push(model.backbone.embed(&Input::Tokens(Tokens { ids, mask }))?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(Tensor::cat(&parts, 0)?.to_dtype(DType::F32)?)
}

/// The lines of a UTF-8 text file, one text per line (a final newline ends the last text, a
/// `\r` before a newline is dropped); an empty file is an error.
pub fn read_lines(path: &std::path::Path) -> Result<Vec<String>> {
    let content = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let content = String::from_utf8(content).map_err(|e| TrainError::Inputs {
        what: format!("--texts {}", path.display()),
        message: format!(
            "not UTF-8 (first invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    if content.is_empty() {
        return Err(TrainError::Inputs {
            what: format!("--texts {}", path.display()),
            message: "the file is empty".into(),
        });
    }
    Ok(content
        .strip_suffix('\n')
        .unwrap_or(&content)
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect())
}
