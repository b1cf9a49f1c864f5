//! `xbn-train embed`: embeddings of a dataset split computed with a trained checkpoint,
//! written as safetensors (`embeddings` f32 `n × d`, `labels` i64 `n`).

use std::path::PathBuf;

use xbn_data::{Role, Split};

use crate::checkpoint::{self, Checkpoint};
use crate::cli::{EmbedArgs, SplitArg};
use crate::config::{TrainConfig, overrides};
use crate::error::{Result, TrainError};
use crate::outputs::embeddings::save_embeddings;
use crate::train::data::TrainData;
use crate::train::evaluate::embed_items;
use crate::train::network::{build_backbone, load_model_state};

/// Exports the embeddings; returns the file written and the number of rows.
pub fn run_embed(args: &EmbedArgs) -> Result<(PathBuf, usize)> {
    let base = TrainConfig::from_file(&args.run.join("config.toml"))?;
    let mut sets = args.set.clone();
    if let Some(d) = &args.device {
        sets.push(format!("run.device={}", toml::Value::String(d.clone())));
    }
    let cfg = overrides::apply(&base, &sets)?;
    let device = crate::device::parse_device(&cfg.run.device)?;
    let backbone = build_backbone(&cfg, None, &device)?;
    let ck_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| args.run.join(checkpoint::LAST));
    let ck = Checkpoint::load(&ck_path, &device)?;
    load_model_state(backbone.as_ref(), &ck.part("model"))?;
    let data = TrainData::open(&cfg, &backbone.input_spec())?;
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
        backbone.as_ref(),
        &data,
        &indices,
        cfg.eval.batch_size,
        &device,
    )?;
    save_embeddings(&args.output, &set.embeddings, &set.labels)?;
    Ok((args.output.clone(), indices.len()))
}
