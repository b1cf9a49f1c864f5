//! `xbn-train embed`: embeddings of a dataset split, or of the lines of a text file, computed
//! with a trained checkpoint, written as safetensors (`embeddings` f32 `n × d`, and `labels`
//! i64 `n` for a split).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use xbn_data::{Role, Split};
use xbn_nn::model::{Input, Tokens};

use crate::checkpoint::{self, Checkpoint};
use crate::cli::{EmbedArgs, SplitArg};
use crate::config::{TrainConfig, overrides};
use crate::error::{Result, TrainError};
use crate::outputs::embeddings::{save_embeddings, save_unlabelled_embeddings};
use crate::train::data::TrainData;
use crate::train::evaluate::embed_items;
use crate::train::network::{Model, build_model, load_model_state};

/// Exports the embeddings; returns the file written and the number of rows.
pub fn run_embed(args: &EmbedArgs) -> Result<(PathBuf, usize)> {
    let base = TrainConfig::from_file(&args.run.join("config.toml"))?;
    let mut sets = args.set.clone();
    if let Some(d) = &args.device {
        sets.push(format!("run.device={}", toml::Value::String(d.clone())));
    }
    let cfg = overrides::apply(&base, &sets)?;
    let device = crate::device::parse_device(&cfg.run.device)?;
    let model = build_model(&cfg, false, &device)?;
    let ck_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| args.run.join(checkpoint::LAST));
    let ck = Checkpoint::load(&ck_path, &device)?;
    load_model_state(model.backbone.as_ref(), &ck.part("model"))?;
    if let Some(texts) = &args.texts {
        let n = embed_texts(&model, texts, &args.output, cfg.eval.batch_size, &device)?;
        return Ok((args.output.clone(), n));
    }
    let data = TrainData::open(&cfg, &model.backbone.input_spec(), model.tokenizer)?;
    let index = data.index();
    let indices: Vec<usize> = match args.split {
        SplitArg::Train => index.split_indices(Split::Train),
        SplitArg::Test => index.split_indices(Split::Test),
        SplitArg::Query => index.role_indices(Role::Query),
        SplitArg::Gallery => index.role_indices(Role::Gallery),
    };
    if indices.is_empty() {
        return Err(TrainError::Config(format!(
            "dataset `{}` has no {:?} items",
            cfg.data.dataset, args.split
        )));
    }
    let set = embed_items(
        model.backbone.as_ref(),
        &data,
        &indices,
        cfg.eval.batch_size,
        &device,
    )?;
    save_embeddings(&args.output, &set.embeddings, &set.labels)?;
    Ok((args.output.clone(), indices.len()))
}

/// Embeds each line of `texts` (one text per line; a final newline ends the last text) in
/// batches of `batch_size` and writes them to `output`; returns the number of texts.
pub fn embed_texts(
    model: &Model,
    texts: &Path,
    output: &Path,
    batch_size: usize,
    device: &Device,
) -> Result<usize> {
    let Some(tokenizer) = &model.tokenizer else {
        return Err(TrainError::Config(format!(
            "--texts {}: the run's backbone `{}` embeds images, not texts",
            texts.display(),
            model.backbone.name()
        )));
    };
    let content = std::fs::read(texts).map_err(|e| TrainError::io(texts, e))?;
    let content = String::from_utf8(content).map_err(|e| {
        TrainError::Config(format!(
            "--texts {}: not UTF-8 (first invalid byte at offset {})",
            texts.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    let lines: Vec<&str> = content
        .strip_suffix('\n')
        .unwrap_or(&content)
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if content.is_empty() {
        return Err(TrainError::Config(format!(
            "--texts {}: the file is empty",
            texts.display()
        )));
    }
    let mut parts = Vec::new();
    for chunk in lines.chunks(batch_size.max(1)) {
        let (ids, mask) = tokenizer.encode(chunk)?.to_tensors(device)?;
        parts.push(model.backbone.embed(&Input::Tokens(Tokens { ids, mask }))?);
    }
    save_unlabelled_embeddings(output, &Tensor::cat(&parts, 0)?)?;
    Ok(lines.len())
}
