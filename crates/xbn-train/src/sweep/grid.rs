//! The grid file of `xbn-train sweep` and the cells it expands to.
//!
//! ```toml
//! name = "memory-size"            # the sweep's folder, <output_dir>/<name> (default: file stem)
//! base = "../configs/default.toml" # base configuration, relative to this file (default: built-in)
//! output_dir = "runs"             # default "runs"
//! metric = "recall@1"             # the headline metric of summary.md and summary.png
//! x = "memory.size"               # the x axis of summary.png
//! set = ["run.iterations=300"]    # overrides for every cell
//! keep_checkpoints = true         # false: delete a finished cell's checkpoints and embeddings
//!
//! [axes]                          # the cells are every combination of these values
//! "norm.kind" = ["none", "xbn", "axbn"]
//! "memory.size" = [64, 256]
//! "data.classes_per_batch+data.images_per_class" = [[4, 4], [16, 4]]   # keys tied together
//! "run.seed" = [0, 1, 2, 3, 4]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{TrainConfig, overrides};
use crate::error::{Result, TrainError};

/// The axis that names the seed; cells that differ only in it are repeats.
pub const SEED_AXIS: &str = "run.seed";
/// Keys under this prefix make up a cell's method (XBM, XBN, AXBN and their settings).
pub const METHOD_PREFIX: &str = "norm.";

/// A parsed grid file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// The sweep's name (its folder under `output_dir`).
    #[serde(default)]
    pub name: Option<String>,
    /// Base configuration file, relative to the grid file.
    #[serde(default)]
    pub base: Option<PathBuf>,
    /// Where the sweep's folder goes.
    #[serde(default)]
    pub output_dir: Option<PathBuf>,
    /// The headline metric.
    #[serde(default = "default_metric")]
    pub metric: String,
    /// The x axis of the summary plot.
    #[serde(default = "default_x")]
    pub x: String,
    /// Overrides applied to every cell, `key=value`.
    #[serde(default)]
    pub set: Vec<String>,
    /// Keep each finished cell's checkpoints and test embeddings (default); `false` deletes
    /// them once `result.json` is written, for studies of hundreds of cells.
    #[serde(default = "keep_by_default")]
    pub keep_checkpoints: bool,
    /// Axis key(s) → values; `a+b` ties keys, each value then a list of one value per key.
    pub axes: toml::Table,
}

fn keep_by_default() -> bool {
    true
}

fn default_metric() -> String {
    "recall@1".into()
}

fn default_x() -> String {
    "memory.size".into()
}

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Folder name: `key=value` of every axis, joined by `_`.
    pub name: String,
    /// The axis values of this cell, `key → value` (TOML literals).
    pub axes: BTreeMap<String, String>,
    /// Its resolved configuration (`run.name`, `run.output_dir` not yet set).
    pub config: TrainConfig,
}

impl Cell {
    /// The seed axis value, 0 when the grid has none.
    pub fn seed(&self) -> u64 {
        self.config.run.seed
    }

    /// The method: every `norm.*` axis, `key=value` joined by `, ` (`norm.kind=none`, …).
    pub fn method(&self) -> String {
        self.label(|k| k.starts_with(METHOD_PREFIX))
    }

    /// The setting: every axis that is neither the method nor the seed.
    pub fn setting(&self) -> String {
        self.label(|k| !k.starts_with(METHOD_PREFIX) && k != SEED_AXIS)
    }

    fn label(&self, keep: impl Fn(&str) -> bool) -> String {
        let parts: Vec<String> = self
            .axes
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.join(", ")
    }
}

impl Grid {
    /// Reads a grid file.
    pub fn from_file(path: &Path) -> Result<Grid> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        toml::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
    }

    /// The sweep's name: `name`, or the grid file's stem.
    pub fn sweep_name(&self, path: &Path) -> String {
        self.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into())
        })
    }

    /// The base configuration (relative to the grid file `path`), then `set`.
    pub fn base_config(&self, path: &Path) -> Result<TrainConfig> {
        let base = match &self.base {
            Some(b) => {
                let resolved = path.parent().unwrap_or(Path::new(".")).join(b);
                TrainConfig::from_file(&resolved)?
            }
            None => TrainConfig::default(),
        };
        overrides::apply(&base, &self.set)
    }

    /// Every combination of the axes' values, axes in the order of their keys (the last axis
    /// varies fastest), each with its configuration resolved and validated.
    pub fn cells(&self, path: &Path) -> Result<Vec<Cell>> {
        let base = self.base_config(path)?;
        let axes = self.parsed_axes()?;
        let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (keys, values) in &axes {
            let mut next = Vec::with_capacity(combos.len() * values.len());
            for combo in &combos {
                for value in values {
                    let mut c = combo.clone();
                    c.extend(keys.iter().cloned().zip(value.iter().cloned()));
                    next.push(c);
                }
            }
            combos = next;
        }
        let mut cells = Vec::with_capacity(combos.len());
        for combo in combos {
            let assignments: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let name = cell_name(&combo);
            let config = overrides::apply(&base, &assignments)
                .map_err(|e| TrainError::Config(format!("cell {name}: {e}")))?;
            crate::config::validate::validate(&config)
                .map_err(|e| TrainError::Config(format!("cell {name}: {e}")))?;
            cells.push(Cell {
                name,
                axes: combo.into_iter().collect(),
                config,
            });
        }
        Ok(cells)
    }

    /// `(keys, values)` per axis; each value holds one TOML literal per key.
    fn parsed_axes(&self) -> Result<Vec<Axis>> {
        if self.axes.is_empty() {
            return Err(TrainError::Config(
                "[axes] is empty: nothing to sweep".into(),
            ));
        }
        let mut out = Vec::new();
        for (axis, values) in &self.axes {
            let keys: Vec<String> = axis.split('+').map(|k| k.trim().to_string()).collect();
            let list = values.as_array().ok_or_else(|| {
                TrainError::Config(format!("[axes] `{axis}`: expected a list of values"))
            })?;
            if list.is_empty() {
                return Err(TrainError::Config(format!("[axes] `{axis}`: no values")));
            }
            let mut rows = Vec::with_capacity(list.len());
            for v in list {
                let row: Vec<String> = if keys.len() == 1 {
                    vec![literal(v)]
                } else {
                    match v.as_array() {
                        Some(tuple) if tuple.len() == keys.len() => {
                            tuple.iter().map(literal).collect()
                        }
                        _ => {
                            return Err(TrainError::Config(format!(
                                "[axes] `{axis}`: each value must be a list of {} values, got {v}",
                                keys.len()
                            )));
                        }
                    }
                };
                rows.push(row);
            }
            out.push((keys, rows));
        }
        Ok(out)
    }
}

/// One axis: its key(s), and its values, each one TOML literal per key.
type Axis = (Vec<String>, Vec<Vec<String>>);

/// A TOML value as it would be written after `key =`.
fn literal(v: &toml::Value) -> String {
    v.to_string()
}

/// `kind=axbn_size=64_seed=0`: the last segment of every key with its value, file-system safe.
fn cell_name(combo: &[(String, String)]) -> String {
    let parts: Vec<String> = combo
        .iter()
        .map(|(k, v)| {
            let short = k.rsplit('.').next().unwrap_or(k);
            let value: String = compact_number(v)
                .unwrap_or_else(|| v.trim_matches('"').to_string())
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "+-.,".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            format!("{short}={value}")
        })
        .collect();
    parts.join("_")
}

/// TOML writes floats in full (`1e30` as `1000000000000000000000000000000.0`): such a value is
/// named in scientific notation (`1e30`) when that is shorter. Short literals stay as written.
fn compact_number(literal: &str) -> Option<String> {
    const LONG: usize = 12;
    if literal.len() <= LONG {
        return None;
    }
    let x: f64 = literal.parse().ok()?;
    let scientific = format!("{x:e}");
    (scientific.len() < literal.len()).then_some(scientific)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_named_in_scientific_notation() {
        let name = cell_name(&[
            (
                "optim.lr_head".into(),
                "1000000000000000000000000000000.0".into(),
            ),
            ("norm.q".into(), "0.0001".into()),
            ("norm.kind".into(), "\"axbn\"".into()),
            ("run.name".into(), "\"a b/c\"".into()),
        ]);
        assert_eq!(name, "lr_head=1e30_q=0.0001_kind=axbn_name=a-b-c");
    }

    fn grid(text: &str) -> Grid {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn cells_are_every_combination_with_tied_keys_kept_together() {
        let g = grid(
            r#"
            [axes]
            "norm.kind" = ["none", "axbn"]
            "data.classes_per_batch+data.images_per_class" = [[4, 4], [8, 2]]
            "run.seed" = [0, 1, 2]
            "#,
        );
        let cells = g.cells(Path::new("grid.toml")).unwrap();
        assert_eq!(cells.len(), 2 * 2 * 3);
        // Axes in key order (data…, norm…, run…), the last varying fastest: cell 4 is the
        // first batch shape, the second method, the second seed.
        let c = &cells[4];
        assert_eq!(
            c.name,
            "classes_per_batch=4_images_per_class=4_kind=axbn_seed=1"
        );
        assert_eq!(
            (
                c.config.data.classes_per_batch,
                c.config.data.images_per_class
            ),
            (4, 4)
        );
        assert_eq!(c.config.norm.kind, crate::config::NormKind::Axbn);
        assert_eq!(c.seed(), 1);
        assert_eq!(c.method(), "norm.kind=\"axbn\"");
        assert_eq!(
            c.setting(),
            "data.classes_per_batch=4, data.images_per_class=4"
        );
        assert_eq!(cells[11].config.data.classes_per_batch, 8);
        let names: std::collections::HashSet<_> = cells.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names.len(), cells.len(), "cell names are unique");
    }

    #[test]
    fn bad_grids_name_the_axis_or_cell_at_fault() {
        let err = grid("[axes]\n\"memory.sise\" = [1]\n")
            .cells(Path::new("g.toml"))
            .unwrap_err();
        assert!(err.to_string().contains("sise"), "{err}");
        let err = grid("[axes]\n\"a.b+c.d\" = [1]\n")
            .cells(Path::new("g.toml"))
            .unwrap_err();
        assert!(err.to_string().contains("a.b+c.d"), "{err}");
        let err = grid("[axes]\n\"memory.size\" = [1]\n")
            .cells(Path::new("g.toml"))
            .unwrap_err();
        assert!(err.to_string().contains("cell size=1"), "{err}");
        assert!(grid("[axes]\n").cells(Path::new("g.toml")).is_err());
    }
}
