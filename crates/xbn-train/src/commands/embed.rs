//! `xbn-train embed`: embeddings of a dataset split, or of the lines of a text file, computed
//! with a trained checkpoint, written as safetensors (`embeddings` f32 `n × d`, and `labels`
//! i64 `n` for a split), or, when the output ends in `.npy`, as `X.npy` (and `X_labels.npy`
//! for a split).

use std::path::{Path, PathBuf};

use candle_core::Device;
use xbn_data::{Role, Split};

use super::embed_inputs::{self, read_lines};
use super::run_model::RunModel;
use crate::cli::{EmbedArgs, SplitArg};
use crate::error::{Result, TrainError};
use crate::outputs::embeddings::{save_embeddings, save_unlabelled_embeddings};
use crate::outputs::npy::{is_npy, save_embeddings_npy};
use crate::train::data::TrainData;
use crate::train::evaluate::embed_items;
use crate::train::network::Model;

/// Exports the embeddings; returns the file written and the number of rows.
pub fn run_embed(args: &EmbedArgs) -> Result<(PathBuf, usize)> {
    let RunModel {
        cfg, model, device, ..
    } = RunModel::open(
        &args.run,
        args.checkpoint.as_deref(),
        &args.set,
        args.device.as_deref(),
    )?;
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
    if is_npy(&args.output) {
        save_embeddings_npy(&args.output, &set.embeddings, Some(&set.labels))?;
    } else {
        save_embeddings(&args.output, &set.embeddings, &set.labels)?;
    }
    Ok((args.output.clone(), indices.len()))
}

/// Embeds each line of `texts` (one text per line; a final newline ends the last text) in
/// batches of `batch_size` and writes them to `output` (safetensors, or `.npy`); returns the
/// number of texts.
pub fn embed_texts(
    model: &Model,
    texts: &Path,
    output: &Path,
    batch_size: usize,
    device: &Device,
) -> Result<usize> {
    let what = format!("--texts {}", texts.display());
    if model.tokenizer.is_none() {
        // Before reading the file: the model is the first thing wrong.
        embed_inputs::embed_texts(model, &[], batch_size, &what, device)?;
    }
    let lines = read_lines(texts)?;
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let embeddings = embed_inputs::embed_texts(model, &refs, batch_size, &what, device)?;
    if is_npy(output) {
        save_embeddings_npy(output, &embeddings, None)?;
    } else {
        save_unlabelled_embeddings(output, &embeddings)?;
    }
    Ok(lines.len())
}
