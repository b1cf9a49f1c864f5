//! A sentence encoder's files: Hugging Face's `config.json`, `tokenizer.json` and weights, and
//! sentence-transformers' `modules.json`, `1_Pooling/config.json` and
//! `sentence_bert_config.json` when present.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::super::error::{ModelError, Result};
use super::super::weights::{HubOptions, WeightSource, resolve_weights};
use super::pooling::TokenPooling;

/// The files of a (sentence-transformers or plain Hugging Face) BERT checkpoint folder.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceLayout {
    /// The folder.
    pub dir: PathBuf,
    /// `config.json`: the encoder's sizes.
    pub config: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `model.safetensors`, when the folder has one (otherwise the encoder stays random).
    pub weights: Option<PathBuf>,
    /// The pooling of `1_Pooling/config.json` (the folder's pooling module); `None` when the
    /// folder has no pooling config (plain Hugging Face checkpoints).
    pub pooling: Option<TokenPooling>,
    /// `max_seq_length` of `sentence_bert_config.json`.
    pub max_seq_length: Option<usize>,
}

/// The files [`SentenceLayout::resolve`] fetches from a Hub repository, required first.
const REQUIRED: [&str; 2] = ["config.json", "tokenizer.json"];
const OPTIONAL: [&str; 4] = [
    "model.safetensors",
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
];

fn read_json(path: &Path) -> Result<Value> {
    let bad = |reason: String| ModelError::WeightFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))
}

impl SentenceLayout {
    /// Reads the layout of a checkpoint folder (or of the folder of a file in it, such as its
    /// `model.safetensors`). `config.json` and `tokenizer.json` must be there.
    pub fn read(path: &Path) -> Result<Self> {
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let need = |name: &str| -> Result<PathBuf> {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(ModelError::WeightFile {
                    path: p,
                    reason: format!(
                        "a text backbone needs `{name}` in its checkpoint folder {}",
                        dir.display()
                    ),
                })
            }
        };
        let config = need("config.json")?;
        let tokenizer = need("tokenizer.json")?;
        let weights = Some(dir.join("model.safetensors")).filter(|p| p.is_file());
        let modules = dir.join("modules.json");
        let pooling_dir = if modules.is_file() {
            Self::check_modules(&modules)?
        } else {
            Some(PathBuf::from("1_Pooling"))
        };
        let pooling = match pooling_dir.map(|d| dir.join(d).join("config.json")) {
            Some(p) if p.is_file() => Some(Self::read_pooling(&p)?),
            _ => None,
        };
        let st_config = dir.join("sentence_bert_config.json");
        let max_seq_length = if st_config.is_file() {
            read_json(&st_config)?
                .get("max_seq_length")
                .and_then(Value::as_u64)
                .map(|v| v as usize)
        } else {
            None
        };
        Ok(Self {
            dir,
            config,
            tokenizer,
            weights,
            pooling,
            max_seq_length,
        })
    }

    /// The layout of `spec`: `hf:<org>/<name>[@revision]` (each file from the Hugging Face
    /// cache, downloaded unless offline; the optional ones may be absent) or a local folder or
    /// file, as [`SentenceLayout::read`].
    pub fn resolve(spec: &str, hub: &HubOptions) -> Result<Self> {
        let source = WeightSource::parse(spec);
        let WeightSource::Hub { repo, .. } = &source else {
            return Self::read(Path::new(spec));
        };
        let fetch = |file: &str| match source.sibling(file) {
            Some(s) => resolve_weights(&s, hub),
            None => Ok(PathBuf::from(spec)),
        };
        let mut dir = None;
        for file in REQUIRED {
            let path = fetch(file)?;
            dir = path.parent().map(Path::to_path_buf);
        }
        for file in OPTIONAL {
            if let Err(e) = fetch(file) {
                tracing::debug!("{repo}: optional `{file}` not fetched: {e}");
            }
        }
        Self::read(&dir.unwrap_or_default())
    }

    /// Checks that `modules.json` lists only modules this encoder reproduces (Transformer,
    /// Pooling, Normalize) and returns the pooling module's folder.
    fn check_modules(path: &Path) -> Result<Option<PathBuf>> {
        let bad = |reason: String| ModelError::WeightFile {
            path: path.to_path_buf(),
            reason,
        };
        let modules = read_json(path)?;
        let list = modules
            .as_array()
            .ok_or_else(|| bad("expected a JSON list of modules".into()))?;
        let mut pooling = None;
        for (i, m) in list.iter().enumerate() {
            let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
            let folder = m.get("path").and_then(Value::as_str).unwrap_or_default();
            match kind.rsplit('.').next().unwrap_or_default() {
                "Transformer" | "Normalize" => {}
                "Pooling" => pooling = Some(PathBuf::from(folder)),
                other => {
                    return Err(bad(format!(
                        "module {i} is `{other}` ({kind}); xbn's text encoder reproduces only \
                         Transformer → Pooling → Normalize"
                    )));
                }
            }
        }
        Ok(pooling)
    }

    /// Reads sentence-transformers' pooling config: mean or CLS pooling.
    fn read_pooling(path: &Path) -> Result<TokenPooling> {
        let config = read_json(path)?;
        let flag = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
        let unsupported = [
            "pooling_mode_max_tokens",
            "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens",
            "pooling_mode_lasttoken",
        ];
        let mut modes = Vec::new();
        if flag("pooling_mode_mean_tokens") {
            modes.push(("pooling_mode_mean_tokens", Some(TokenPooling::Mean)));
        }
        if flag("pooling_mode_cls_token") {
            modes.push(("pooling_mode_cls_token", Some(TokenPooling::Cls)));
        }
        for key in unsupported {
            if flag(key) {
                modes.push((key, None));
            }
        }
        match modes.as_slice() {
            [(_, Some(pooling))] => Ok(*pooling),
            [(key, None)] => Err(ModelError::WeightFile {
                path: path.to_path_buf(),
                reason: format!("`{key}` is not supported (mean or CLS pooling only)"),
            }),
            [] => Err(ModelError::WeightFile {
                path: path.to_path_buf(),
                reason: "no pooling mode is set".into(),
            }),
            several => Err(ModelError::WeightFile {
                path: path.to_path_buf(),
                reason: format!(
                    "{} pooling modes are set ({}); xbn supports exactly one",
                    several.len(),
                    several
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
}
