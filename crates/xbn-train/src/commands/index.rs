//! `xbn-train index`: a catalogue ([`Catalogue`]) of a folder of images, a dataset split or
//! the lines of a text file, embedded with a run's trained model.

use std::path::{Path, PathBuf};

use xbn_data::{ItemSource, Role, Split};

use super::catalogue::{Catalogue, Embeddings, EntryKind, check_entries_fit};
use super::embed_inputs::{Skipped, embed_images, embed_texts, read_lines};
use super::image_files::list_images;
use super::run_model::{ModelIdentity, RunModel};
use crate::cli::{IndexArgs, SplitArg};
use crate::error::{Result, TrainError};
use crate::train::data::TrainData;

/// What `index` did.
#[derive(Debug, Clone)]
pub struct IndexOutcome {
    /// The files written (the catalogue; with `.npy`, also labels and metadata).
    pub written: Vec<PathBuf>,
    /// Rows in the catalogue.
    pub count: usize,
    /// Whether labels were stored.
    pub labelled: bool,
    /// The model that embedded them.
    pub model: ModelIdentity,
    /// Inputs skipped because they could not be read.
    pub skipped: Vec<Skipped>,
}

impl std::fmt::Display for IndexOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files: Vec<String> = self
            .written
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        write!(
            f,
            "{} embeddings ({}{}) written to {}",
            self.count,
            self.model.describe(),
            if self.labelled { ", with labels" } else { "" },
            files.join(", ")
        )?;
        if !self.skipped.is_empty() {
            write!(
                f,
                "; {} unreadable skipped (listed on stderr)",
                self.skipped.len()
            )?;
        }
        Ok(())
    }
}

/// The rows of a catalogue before the model's identity is attached.
struct Rows {
    embeddings: candle_core::Tensor,
    entries: Vec<String>,
    kind: EntryKind,
    labels: Option<Vec<i64>>,
    classes: Vec<String>,
    source: String,
    skipped: Vec<Skipped>,
}

/// Builds and writes the catalogue of `args`.
pub fn run_index(args: &IndexArgs) -> Result<IndexOutcome> {
    let run = RunModel::open(
        &args.run,
        args.checkpoint.as_deref(),
        &args.set,
        args.device.as_deref(),
    )?;
    let out = &args.output;
    let rows = match (&args.images, args.split, &args.texts) {
        (Some(dir), None, None) => index_folder(&run, dir, out)?,
        (None, Some(split), None) => index_split(&run, split, out)?,
        (None, None, Some(file)) => index_texts(&run, file, out)?,
        _ => {
            return Err(TrainError::Inputs {
                what: "index".into(),
                message: "give exactly one of --images DIR, --split SPLIT, --texts FILE".into(),
            });
        }
    };
    let catalogue = Catalogue {
        embeddings: Embeddings::Loaded(rows.embeddings),
        entries: rows.entries,
        kind: rows.kind,
        labels: rows.labels,
        classes: rows.classes,
        model: run.identity.clone(),
        checkpoint: run.checkpoint.display().to_string(),
        source: rows.source,
        skipped: rows.skipped,
    };
    let written = catalogue.save(&args.output)?;
    Ok(IndexOutcome {
        written,
        count: catalogue.len(),
        labelled: catalogue.labels.is_some(),
        model: catalogue.model,
        skipped: catalogue.skipped,
    })
}

fn index_folder(run: &RunModel, dir: &Path, output: &Path) -> Result<Rows> {
    let folder = list_images(dir)?;
    let names: Vec<String> = folder
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    check_entries_fit(output, &names)?;
    let sources: Vec<ItemSource> = folder
        .paths
        .iter()
        .map(|p| ItemSource::File {
            path: p.clone(),
            crop: None,
        })
        .collect();
    let what = format!("--images {}", dir.display());
    let e = embed_images(&run.model, &run.cfg, &sources, &what, &run.device)?;
    Ok(Rows {
        entries: e.kept.iter().map(|&i| names[i].clone()).collect(),
        labels: folder
            .labels
            .map(|l| e.kept.iter().map(|&i| l[i]).collect()),
        embeddings: e.embeddings,
        kind: EntryKind::Images,
        classes: folder.classes,
        source: what,
        skipped: e.skipped,
    })
}

fn index_split(run: &RunModel, split: SplitArg, output: &Path) -> Result<Rows> {
    let data = TrainData::open(
        &run.cfg,
        &run.model.backbone.input_spec(),
        run.model.tokenizer.clone(),
    )?;
    let index = data.index();
    let indices = match split {
        SplitArg::Train => index.split_indices(Split::Train),
        SplitArg::Test => index.split_indices(Split::Test),
        SplitArg::Query => index.role_indices(Role::Query),
        SplitArg::Gallery => index.role_indices(Role::Gallery),
    };
    let what = format!(
        "--split {} of dataset `{}`",
        format!("{split:?}").to_lowercase(),
        run.cfg.data.dataset
    );
    if indices.is_empty() {
        return Err(TrainError::Inputs {
            what,
            message: "the split has no items".into(),
        });
    }
    let labels = data.labels_of(&indices);
    if run.model.tokenizer.is_some() {
        let texts = indices
            .iter()
            .map(|&i| xbn_data::text::text_of(&index.items[i]))
            .collect::<xbn_data::Result<Vec<&str>>>()?;
        let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        check_entries_fit(output, &owned)?;
        let embeddings = embed_texts(
            &run.model,
            &texts,
            run.cfg.eval.batch_size,
            &what,
            &run.device,
        )?;
        return Ok(Rows {
            embeddings,
            entries: owned,
            kind: EntryKind::Texts,
            labels: Some(labels),
            classes: Vec::new(),
            source: what,
            skipped: Vec::new(),
        });
    }
    let sources: Vec<ItemSource> = indices
        .iter()
        .map(|&i| index.items[i].source.clone())
        .collect();
    let names: Vec<String> = sources.iter().map(ItemSource::describe).collect();
    check_entries_fit(output, &names)?;
    let e = embed_images(&run.model, &run.cfg, &sources, &what, &run.device)?;
    Ok(Rows {
        entries: e.kept.iter().map(|&i| names[i].clone()).collect(),
        labels: Some(e.kept.iter().map(|&i| labels[i]).collect()),
        embeddings: e.embeddings,
        kind: EntryKind::Images,
        classes: Vec::new(),
        source: what,
        skipped: e.skipped,
    })
}

fn index_texts(run: &RunModel, file: &Path, output: &Path) -> Result<Rows> {
    let lines = read_lines(file)?;
    check_entries_fit(output, &lines)?;
    let what = format!("--texts {}", file.display());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let embeddings = embed_texts(
        &run.model,
        &refs,
        run.cfg.eval.batch_size,
        &what,
        &run.device,
    )?;
    Ok(Rows {
        embeddings,
        entries: lines,
        kind: EntryKind::Texts,
        labels: None,
        classes: Vec::new(),
        source: what,
        skipped: Vec::new(),
    })
}
