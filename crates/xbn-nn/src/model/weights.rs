//! Pretrained or saved weights: a local safetensors file or a Hugging Face Hub file (sync
//! `hf-hub` API over ureq, honouring `HF_HOME`, `HF_HUB_CACHE`, `HF_ENDPOINT`, `HF_HUB_OFFLINE`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use candle_core::{Device, Var};
use hf_hub::{Cache, Repo, RepoType};

use super::Backbone;
use super::error::{ModelError, Result};

/// Where weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightSource {
    /// A local safetensors file.
    File(PathBuf),
    /// A file of a Hugging Face model repository.
    Hub {
        /// `org/name`, e.g. `timm/resnet50.a1_in1k`.
        repo: String,
        /// Branch, tag or commit (`main`).
        revision: String,
        /// File in the repository (`model.safetensors`).
        file: String,
    },
}

impl WeightSource {
    /// Parses `hf:<org>/<name>[@<revision>][:<file>]` (defaults `main`, `model.safetensors`) as a
    /// Hub file and anything else as a local path.
    pub fn parse(spec: &str) -> Self {
        let Some(rest) = spec.strip_prefix("hf:") else {
            return Self::File(PathBuf::from(spec));
        };
        let (rest, file) = match rest.split_once(':') {
            Some((r, f)) => (r, f.to_string()),
            None => (rest, "model.safetensors".to_string()),
        };
        let (repo, revision) = match rest.split_once('@') {
            Some((r, v)) => (r.to_string(), v.to_string()),
            None => (rest.to_string(), "main".to_string()),
        };
        Self::Hub {
            repo,
            revision,
            file,
        }
    }
}

/// How the Hub is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOptions {
    /// Cache-only: never touch the network, fail with [`ModelError::NotCached`] on a miss.
    pub offline: bool,
    /// Hub cache folder; `None` means `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `~/.cache/huggingface/hub`.
    pub cache_dir: Option<PathBuf>,
    /// Show a download progress bar.
    pub progress: bool,
}

impl HubOptions {
    /// Options from the environment: offline iff [`hub_offline_from_env`], cache from
    /// `HF_HUB_CACHE` when set (else hf-hub's `HF_HOME` rule), progress bar on.
    pub fn from_env() -> Self {
        Self {
            offline: hub_offline_from_env(),
            cache_dir: std::env::var_os("HF_HUB_CACHE").map(PathBuf::from),
            progress: true,
        }
    }

    fn cache(&self) -> Cache {
        match &self.cache_dir {
            Some(dir) => Cache::new(dir.clone()),
            None => Cache::from_env(),
        }
    }
}

/// `true` when `HF_HUB_OFFLINE` is `1`, `true`, `yes` or `on` (case-insensitive).
pub fn hub_offline_from_env() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// The local path of `source`: a file as given, or a Hub file from the cache, downloading it
/// into the cache unless offline.
pub fn resolve_weights(source: &WeightSource, hub: &HubOptions) -> Result<PathBuf> {
    let (repo, revision, file) = match source {
        WeightSource::File(path) => return Ok(path.clone()),
        WeightSource::Hub {
            repo,
            revision,
            file,
        } => (repo, revision, file),
    };
    let cache = hub.cache();
    let hf_repo = Repo::with_revision(repo.clone(), RepoType::Model, revision.clone());
    if let Some(path) = cache.repo(hf_repo.clone()).get(file) {
        return Ok(path);
    }
    if hub.offline {
        return Err(ModelError::NotCached {
            repo: repo.clone(),
            file: file.clone(),
            revision: revision.clone(),
            cache: cache.path().clone(),
        });
    }
    let hub_err = |reason: String| ModelError::Hub {
        repo: repo.clone(),
        file: file.clone(),
        reason,
    };
    let mut builder = hf_hub::api::sync::ApiBuilder::from_cache(cache).with_progress(hub.progress);
    if let Ok(endpoint) = std::env::var("HF_ENDPOINT") {
        builder = builder.with_endpoint(endpoint);
    }
    let api = builder.build().map_err(|e| hub_err(e.to_string()))?;
    api.repo(hf_repo)
        .get(file)
        .map_err(|e| hub_err(e.to_string()))
}

impl WeightSource {
    /// Another file of the same Hub repository and revision (`None` for a local file).
    pub fn sibling(&self, file: &str) -> Option<WeightSource> {
        match self {
            WeightSource::Hub { repo, revision, .. } => Some(WeightSource::Hub {
                repo: repo.clone(),
                revision: revision.clone(),
                file: file.to_string(),
            }),
            WeightSource::File(_) => None,
        }
    }
}

/// Which differences between a weight file and the model are acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Model tensors under these name prefixes may be absent from the file (kept as they are).
    pub allow_missing_prefixes: Vec<String>,
    /// File tensors under these name prefixes are skipped.
    pub ignore_prefixes: Vec<String>,
    /// File tensors with these name suffixes are skipped.
    pub ignore_suffixes: Vec<String>,
    /// When the file holds tensors under one of these prefixes (the first that matches), only
    /// those are read, with the prefix removed: an xbn-train checkpoint
    /// (`runs/<name>/best.safetensors`) keeps its model under `model.` beside the optimizer and
    /// the memory; Hugging Face task checkpoints keep BERT under `bert.`.
    pub checkpoint_prefixes: Vec<String>,
}

impl LoadOptions {
    /// Every model tensor must be in the file and every file tensor in the model (checkpoints).
    pub fn strict() -> Self {
        Self::default()
    }

    /// ImageNet weights (torchvision/timm) for the feature extractor, or the model of an
    /// xbn-train checkpoint (`model.` tensors): the embedding head (`head.`) may be missing,
    /// the classifier (`fc.`) and `num_batches_tracked` are skipped.
    pub fn pretrained() -> Self {
        Self {
            allow_missing_prefixes: vec!["head.".into()],
            ignore_prefixes: vec!["fc.".into()],
            ignore_suffixes: vec![".num_batches_tracked".into()],
            checkpoint_prefixes: vec!["model.".into()],
        }
    }

    /// A Hugging Face vision transformer checkpoint (`ViTModel` or a task model's `vit.` part,
    /// `Dinov2Model`, a CLIP model's `vision_model.` part) or the model of an xbn-train
    /// checkpoint: the head (`head.`) may be missing; poolers, classifiers and DINOv2's
    /// `mask_token` are skipped.
    pub fn pretrained_vit() -> Self {
        Self {
            allow_missing_prefixes: vec!["head.".into()],
            ignore_prefixes: vec!["pooler.".into(), "classifier.".into()],
            ignore_suffixes: vec!["embeddings.mask_token".into()],
            checkpoint_prefixes: vec![
                "model.".into(),
                "vit.".into(),
                "dinov2.".into(),
                "vision_model.".into(),
            ],
        }
    }

    /// A Hugging Face BERT checkpoint (`BertModel`, or a task model's `bert.` part) or the model
    /// of an xbn-train checkpoint: the head (`head.`) may be missing; the pooler, task heads
    /// (`pooler.`, `cls.`) and the `position_ids` buffer are skipped.
    pub fn pretrained_bert() -> Self {
        Self {
            allow_missing_prefixes: vec!["head.".into()],
            ignore_prefixes: vec!["pooler.".into(), "cls.".into()],
            ignore_suffixes: vec!["embeddings.position_ids".into()],
            checkpoint_prefixes: vec!["model.".into(), "bert.".into()],
        }
    }
}

/// What a load did, tensor by tensor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadReport {
    /// Model tensors overwritten from the file.
    pub loaded: Vec<String>,
    /// Model tensors absent from the file, with their shapes (allowed ones only, on success).
    pub missing: Vec<(String, Vec<usize>)>,
    /// File tensors skipped by [`LoadOptions`], with their shapes.
    pub ignored: Vec<(String, Vec<usize>)>,
}

/// Loads a safetensors file into `backbone`'s tensors (converted to their dtype and device).
/// Everything is checked before anything is written: on a missing, unexpected or mis-shaped
/// tensor the model is left unchanged and the error lists each by name and shape.
pub fn load_weights(
    backbone: &dyn Backbone,
    path: &Path,
    opts: &LoadOptions,
) -> Result<LoadReport> {
    let file = read_weight_file(path)?;
    load_tensors(backbone, file, &path.display().to_string(), opts)
}

/// Every tensor of a safetensors file, on the CPU.
pub fn read_weight_file(path: &Path) -> Result<HashMap<String, candle_core::Tensor>> {
    candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| ModelError::WeightFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// [`load_weights`] from tensors already read (`source_desc` names them in errors).
pub fn load_tensors(
    backbone: &dyn Backbone,
    mut file: HashMap<String, candle_core::Tensor>,
    source_desc: &str,
    opts: &LoadOptions,
) -> Result<LoadReport> {
    let prefix = opts
        .checkpoint_prefixes
        .iter()
        .find(|p| file.keys().any(|k| k.starts_with(p.as_str())))
        .cloned();
    if let Some(prefix) = prefix {
        file = file
            .into_iter()
            .filter_map(|(k, t)| k.strip_prefix(prefix.as_str()).map(|k| (k.to_string(), t)))
            .collect();
    }
    let vars: HashMap<String, Var> = backbone
        .varmap()
        .data()
        .lock()
        .map_err(|_| ModelError::Poisoned)?
        .clone();
    let mut report = LoadReport::default();
    let mut problems = String::new();
    let mut names: Vec<&String> = file.keys().collect();
    names.sort();
    for name in names {
        let t = &file[name];
        let skip = opts
            .ignore_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
            || opts
                .ignore_suffixes
                .iter()
                .any(|s| name.ends_with(s.as_str()));
        match vars.get(name) {
            _ if skip => report.ignored.push((name.clone(), t.dims().to_vec())),
            None => {
                let _ = writeln!(problems, "  unexpected: {name} {:?}", t.dims());
            }
            Some(var) if var.dims() != t.dims() => {
                let _ = writeln!(
                    problems,
                    "  wrong shape: {name}: model {:?}, file {:?}",
                    var.dims(),
                    t.dims()
                );
            }
            Some(_) => report.loaded.push(name.clone()),
        }
    }
    let mut model_names: Vec<&String> = vars.keys().collect();
    model_names.sort();
    for name in model_names {
        if file.contains_key(name) {
            continue;
        }
        let shape = vars[name].dims().to_vec();
        if opts
            .allow_missing_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
        {
            report.missing.push((name.clone(), shape));
        } else {
            let _ = writeln!(problems, "  missing: {name} {shape:?}");
        }
    }
    if !problems.is_empty() {
        return Err(ModelError::WeightMismatch {
            source_desc: source_desc.to_string(),
            details: problems.trim_end().to_string(),
        });
    }
    for name in &report.loaded {
        let var = &vars[name];
        let t = file[name].to_dtype(var.dtype())?.to_device(var.device())?;
        var.set(&t)?;
    }
    Ok(report)
}
