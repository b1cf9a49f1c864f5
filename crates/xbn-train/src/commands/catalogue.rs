//! A catalogue: embeddings of images (or texts) with what they are and which model computed
//! them, written by `index` and searched by `search`.
//!
//! As safetensors: tensors `embeddings` (f32 `n × d`) and, when known, `labels` (i64 `n`);
//! string metadata `format` = `xbn-catalogue`, `kind` (`images` or `texts`), `paths` or
//! `texts` (a JSON array of `n` strings), `classes` (a JSON array: class name of each label,
//! when labels come from class subfolders), `model_sha256`, `embedding_dim`, `backbone`,
//! `checkpoint`, `source` and `skipped` (a JSON array of `{"path", "reason"}`).
//!
//! As `.npy` (when the file name ends in `.npy`): `X.npy`, `X_labels.npy` when labels are
//! known, and `X_meta.json` holding the same metadata as one JSON object (arrays as arrays).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::{Value, json};

pub use super::catalogue_rows::Embeddings;
use super::catalogue_rows::{EmbeddingRows, read_header};
use super::embed_inputs::Skipped;
use super::run_model::ModelIdentity;
use crate::checkpoint::atomic::write_atomic;
use crate::error::{Result, TrainError};
use crate::outputs::npy::{is_npy, save_embeddings_npy};

/// The value of the `format` metadata key.
pub const FORMAT: &str = "xbn-catalogue";

/// Safetensors readers (this crate's and Python's) refuse a header of more bytes than this.
pub const MAX_HEADER_BYTES: usize = 100_000_000;

/// Refuses, before any embedding work, `entries` too long to be listed in the header of a
/// safetensors catalogue at `path` (a `.npy` catalogue keeps them in a JSON file: no limit).
pub fn check_entries_fit(path: &Path, entries: &[String]) -> Result<()> {
    if is_npy(path) {
        return Ok(());
    }
    // The list as JSON, then quoted again as a metadata string.
    let list = json!(entries).to_string();
    let bytes = json!(list).to_string().len();
    // Room for the other metadata keys and the tensors' entries.
    if bytes + 1_000_000 > MAX_HEADER_BYTES {
        return Err(too_large(path, entries.len(), bytes));
    }
    Ok(())
}

fn too_large(path: &Path, n: usize, bytes: usize) -> TrainError {
    bad(
        path,
        format!(
            "the {n} entries take {:.1} MB of metadata, over the {} MB that safetensors readers \
             accept in a header; write the catalogue as .npy instead (-o X.npy keeps them in \
             X_meta.json)",
            bytes as f64 / 1e6,
            MAX_HEADER_BYTES / 1_000_000
        ),
    )
}

/// What the rows of a catalogue are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Images, named by their paths.
    Images,
    /// Texts, stored whole.
    Texts,
}

impl EntryKind {
    /// `images` or `texts`.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Images => "images",
            EntryKind::Texts => "texts",
        }
    }

    /// The metadata key of the entries: `paths` or `texts`.
    pub fn key(self) -> &'static str {
        match self {
            EntryKind::Images => "paths",
            EntryKind::Texts => "texts",
        }
    }
}

/// Embeddings with their entries, labels and model.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// `(n × d)` f32 embeddings, in memory or read from the file in blocks.
    pub embeddings: Embeddings,
    /// What each row is: an image path or a text.
    pub entries: Vec<String>,
    /// Whether the entries are image paths or texts.
    pub kind: EntryKind,
    /// `n` labels, when known.
    pub labels: Option<Vec<i64>>,
    /// Class name of each label value (empty when unnamed).
    pub classes: Vec<String>,
    /// The model that computed the embeddings.
    pub model: ModelIdentity,
    /// The checkpoint file the model came from.
    pub checkpoint: String,
    /// What was indexed (`--images DIR`, `--split test`, `--texts FILE`).
    pub source: String,
    /// Inputs that could not be read, with the reason.
    pub skipped: Vec<Skipped>,
}

impl Catalogue {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalogue has no rows.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The class name of row `i`, when classes are named.
    pub fn class_name(&self, i: usize) -> Option<&str> {
        let label = *self.labels.as_ref()?.get(i)?;
        let label = usize::try_from(label).ok()?;
        self.classes.get(label).map(String::as_str)
    }

    /// The metadata as JSON values.
    fn metadata(&self) -> Vec<(&'static str, Value)> {
        let skipped: Vec<Value> = self
            .skipped
            .iter()
            .map(|s| json!({"path": s.input, "reason": s.reason}))
            .collect();
        let mut m = vec![
            ("format", json!(FORMAT)),
            ("kind", json!(self.kind.name())),
            (self.kind.key(), json!(self.entries)),
            ("model_sha256", json!(self.model.sha256)),
            ("embedding_dim", json!(self.model.embedding_dim)),
            ("backbone", json!(self.model.backbone)),
            ("checkpoint", json!(self.checkpoint)),
            ("source", json!(self.source)),
            ("skipped", Value::Array(skipped)),
        ];
        if !self.classes.is_empty() {
            m.push(("classes", json!(self.classes)));
        }
        m
    }

    /// Writes the catalogue to `path` (safetensors, or `.npy` files when `path` ends in
    /// `.npy`), atomically per file; returns the files written.
    pub fn save(&self, path: &Path) -> Result<Vec<PathBuf>> {
        let n = self.len();
        let (rows, _) = self.embeddings.dims()?;
        let embeddings = self.embeddings.to_tensor()?;
        let count = |what, count| TrainError::RowCount {
            embeddings: rows,
            what,
            count,
        };
        if rows != n {
            return Err(count("entries", n));
        }
        if let Some(l) = self.labels.as_ref().filter(|l| l.len() != rows) {
            return Err(count("labels", l.len()));
        }
        if is_npy(path) {
            let mut written = save_embeddings_npy(path, &embeddings, self.labels.as_deref())?;
            let meta = meta_json_path(path);
            let doc: serde_json::Map<String, Value> = self
                .metadata()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            let text = serde_json::to_string_pretty(&doc).map_err(|source| TrainError::Json {
                what: meta.display().to_string(),
                source,
            })?;
            write_atomic(&meta, text.as_bytes())?;
            written.push(meta);
            return Ok(written);
        }
        let metadata: HashMap<String, String> = self
            .metadata()
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k.to_string(), s),
                other => (k.to_string(), other.to_string()),
            })
            .collect();
        let mut tensors = vec![(
            "embeddings",
            embeddings.to_device(&Device::Cpu)?.contiguous()?,
        )];
        if let Some(l) = &self.labels {
            tensors.push(("labels", Tensor::from_slice(l, l.len(), &Device::Cpu)?));
        }
        let bytes = safetensors::serialize(tensors.iter().map(|(k, t)| (*k, t)), Some(metadata))
            .map_err(|e| bad(path, e.to_string()))?;
        let header = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes);
        if header > MAX_HEADER_BYTES as u64 {
            return Err(too_large(path, n, header as usize));
        }
        write_atomic(path, &bytes)?;
        Ok(vec![path.to_path_buf()])
    }

    /// Reads a catalogue written by [`Catalogue::save`], checking that its parts agree (rows,
    /// labels, entries, dimension). The embeddings of a safetensors catalogue stay in the file
    /// ([`Embeddings::OnDisk`], read in blocks); those of a `.npy` catalogue are loaded.
    pub fn load(path: &Path) -> Result<Self> {
        let (embeddings, labels, meta) = if is_npy(path) {
            load_npy(path)?
        } else {
            load_safetensors(path)?
        };
        from_parts(path, embeddings, labels, &meta)
    }
}

/// The metadata file beside `X.npy`: `X_meta.json`.
pub fn meta_json_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}_meta.json"))
}

fn bad(path: &Path, message: String) -> TrainError {
    TrainError::Catalogue {
        path: path.to_path_buf(),
        message,
    }
}

/// The metadata keys whose values are JSON (lists, numbers) rather than plain strings.
const JSON_KEYS: [&str; 5] = ["paths", "texts", "classes", "skipped", "embedding_dim"];

type Parts = (Embeddings, Option<Vec<i64>>, serde_json::Map<String, Value>);

fn load_safetensors(path: &Path) -> Result<Parts> {
    let header = read_header(path)?;
    let embeddings = Embeddings::OnDisk(EmbeddingRows::locate(path, &header)?);
    let labels = header.read_i64(path, "labels")?;
    let meta = header
        .metadata
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            // Lists and numbers are stored as JSON text, strings as themselves.
            let value = if JSON_KEYS.contains(&k.as_str()) {
                serde_json::from_str(&v).map_err(|source| TrainError::Json {
                    what: format!("{}: metadata `{k}`", path.display()),
                    source,
                })?
            } else {
                Value::String(v)
            };
            Ok((k, value))
        })
        .collect::<Result<_>>()?;
    Ok((embeddings, labels, meta))
}

fn load_npy(path: &Path) -> Result<Parts> {
    let read =
        |p: &Path| xbn_eval::read_npy(p).map_err(|e| bad(p, format!("cannot read .npy: {e}")));
    if !path.is_file() {
        return Err(TrainError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let embeddings = Embeddings::Loaded(read(path)?.to_dtype(DType::F32)?);
    let lp = xbn_eval::npy_labels_path(path);
    let labels = if lp.is_file() {
        Some(read(&lp)?.to_dtype(DType::I64)?.to_vec1()?)
    } else {
        None
    };
    let mp = meta_json_path(path);
    let text = std::fs::read_to_string(&mp).map_err(|e| {
        bad(
            path,
            format!("its metadata {} cannot be read: {e}", mp.display()),
        )
    })?;
    let meta = match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad(&mp, "not a JSON object".into())),
        Err(source) => {
            return Err(TrainError::Json {
                what: mp.display().to_string(),
                source,
            });
        }
    };
    Ok((embeddings, labels, meta))
}

fn from_parts(
    path: &Path,
    embeddings: Embeddings,
    labels: Option<Vec<i64>>,
    meta: &serde_json::Map<String, Value>,
) -> Result<Catalogue> {
    if meta.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(bad(
            path,
            format!(
                "not a catalogue (metadata `format` is not `{FORMAT}`); build one with \
                 `xbn-train index`"
            ),
        ));
    }
    let string = |key: &str| -> Result<String> {
        meta.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(path, format!("metadata `{key}` is missing or not a string")))
    };
    let strings = |key: &str| -> Result<Option<Vec<String>>> {
        match meta.get(key) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
                bad(
                    path,
                    format!("metadata `{key}`: not a list of strings: {e}"),
                )
            }),
        }
    };
    let kind = match string("kind")?.as_str() {
        "images" => EntryKind::Images,
        "texts" => EntryKind::Texts,
        other => return Err(bad(path, format!("metadata `kind` = `{other}`"))),
    };
    let entries = strings(kind.key())?
        .ok_or_else(|| bad(path, format!("metadata `{}` is missing", kind.key())))?;
    if let Embeddings::Loaded(t) = &embeddings
        && t.rank() != 2
    {
        return Err(bad(
            path,
            format!("embeddings have shape {:?}, not n × d", t.dims()),
        ));
    }
    let (rows, d) = embeddings.dims()?;
    if entries.len() != rows {
        return Err(bad(
            path,
            format!("{rows} embeddings but {} {}", entries.len(), kind.key()),
        ));
    }
    if let Some(l) = labels.as_ref().filter(|l| l.len() != rows) {
        return Err(bad(
            path,
            format!("{rows} embeddings but {} labels", l.len()),
        ));
    }
    let embedding_dim = meta
        .get("embedding_dim")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(path, "metadata `embedding_dim` is missing".into()))?;
    if embedding_dim != d as u64 {
        return Err(bad(
            path,
            format!("metadata says embedding_dim {embedding_dim}, the embeddings have {d}"),
        ));
    }
    let skipped = match meta.get("skipped").and_then(Value::as_array) {
        None => Vec::new(),
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(position, v)| Skipped {
                position,
                input: v["path"].as_str().unwrap_or_default().to_string(),
                reason: v["reason"].as_str().unwrap_or_default().to_string(),
            })
            .collect(),
    };
    Ok(Catalogue {
        embeddings,
        entries,
        kind,
        labels,
        classes: strings("classes")?.unwrap_or_default(),
        model: ModelIdentity {
            sha256: string("model_sha256")?,
            embedding_dim: d,
            backbone: string("backbone")?,
        },
        checkpoint: string("checkpoint").unwrap_or_default(),
        source: string("source").unwrap_or_default(),
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: EntryKind) -> Catalogue {
        Catalogue {
            embeddings: Embeddings::Loaded(
                Tensor::new(&[[0.6f32, 0.8], [1.0, 0.0]], &Device::Cpu).unwrap(),
            ),
            entries: vec!["a/1.png".into(), "b/2 \"x\".png".into()],
            kind,
            labels: Some(vec![0, 1]),
            classes: vec!["a".into(), "b".into()],
            model: ModelIdentity {
                sha256: "ab".repeat(32),
                embedding_dim: 2,
                backbone: "small-cnn".into(),
            },
            checkpoint: "runs/x/checkpoint.safetensors".into(),
            source: "--images imgs".into(),
            skipped: vec![Skipped {
                position: 0,
                input: "c.png".into(),
                reason: "not a JPEG or PNG file".into(),
            }],
        }
    }

    fn same(a: &Catalogue, b: &Catalogue) {
        let rows = |c: &Catalogue| c.embeddings.to_tensor().unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(rows(a), rows(b));
        assert_eq!(
            (&a.entries, a.kind, &a.labels, &a.classes, &a.model),
            (&b.entries, b.kind, &b.labels, &b.classes, &b.model)
        );
        assert_eq!((&a.checkpoint, &a.source), (&b.checkpoint, &b.source));
        assert_eq!(a.skipped, b.skipped);
    }

    #[test]
    fn a_catalogue_reads_back_from_safetensors_and_npy() {
        let dir = tempfile::tempdir().unwrap();
        for kind in [EntryKind::Images, EntryKind::Texts] {
            let c = sample(kind);
            let p = dir.path().join("c.safetensors");
            assert_eq!(c.save(&p).unwrap(), vec![p.clone()]);
            same(&c, &Catalogue::load(&p).unwrap());
            let p = dir.path().join("c.npy");
            let written = c.save(&p).unwrap();
            assert_eq!(written.len(), 3, "{written:?}");
            same(&c, &Catalogue::load(&p).unwrap());
        }
        assert_eq!(sample(EntryKind::Images).class_name(1), Some("b"));
    }

    #[test]
    fn too_many_entries_for_a_safetensors_header_are_refused_before_and_at_writing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.safetensors");
        // 1.05 million paths of 100 bytes: over 100 MB.
        let entries = vec!["p".repeat(100); 1_050_000];
        let e = check_entries_fit(&p, &entries).unwrap_err().to_string();
        assert!(e.contains("1050000 entries") && e.contains(".npy"), "{e}");
        check_entries_fit(&dir.path().join("big.npy"), &entries).unwrap();
        check_entries_fit(&p, &entries[..1000]).unwrap();
        let mut c = sample(EntryKind::Images);
        c.entries = entries;
        c.labels = None;
        c.embeddings =
            Embeddings::Loaded(Tensor::zeros((1_050_000, 1), DType::F32, &Device::Cpu).unwrap());
        c.model.embedding_dim = 1;
        let e = c.save(&p).unwrap_err().to_string();
        assert!(e.contains("header"), "{e}");
        assert!(!p.exists());
    }

    #[test]
    fn a_truncated_catalogue_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        sample(EntryKind::Images).save(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let e = Catalogue::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("c.safetensors") && e.contains("truncated"),
            "{e}"
        );
        std::fs::write(&p, &bytes[..5]).unwrap();
        let e = Catalogue::load(&p).unwrap_err().to_string();
        assert!(e.contains("not a safetensors file"), "{e}");
    }

    #[test]
    fn files_that_are_not_catalogues_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain.safetensors");
        crate::outputs::embeddings::save_embeddings(
            &p,
            &Tensor::ones((2, 3), DType::F32, &Device::Cpu).unwrap(),
            &[1, 2],
        )
        .unwrap();
        let e = Catalogue::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("plain.safetensors") && e.contains("not a catalogue"),
            "{e}"
        );
        let p = dir.path().join("plain.npy");
        crate::outputs::npy::save_embeddings_npy(
            &p,
            &Tensor::ones((2, 3), DType::F32, &Device::Cpu).unwrap(),
            None,
        )
        .unwrap();
        let e = Catalogue::load(&p).unwrap_err().to_string();
        assert!(e.contains("plain_meta.json"), "{e}");
    }
}
