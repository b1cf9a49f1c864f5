//! Command-line overrides `section.key=value` applied to a configuration before it is parsed,
//! so that an unknown key is rejected exactly as in a file.

use toml::{Table, Value};

use super::TrainConfig;
use crate::error::{Result, TrainError};

/// Applies `assignments` (`section.key=value`, value in TOML syntax; a bare word is a string)
/// to `base` and parses the result.
///
/// ```
/// use xbn_train::config::{overrides::apply, TrainConfig};
/// let cfg = apply(&TrainConfig::default(), &["memory.size=4096".into(), "norm.kind=xbn".into()]).unwrap();
/// assert_eq!(cfg.memory.size, 4096);
/// assert!(apply(&TrainConfig::default(), &["memory.sise=1".into()]).is_err());
/// ```
pub fn apply(base: &TrainConfig, assignments: &[String]) -> Result<TrainConfig> {
    if assignments.is_empty() {
        return Ok(base.clone());
    }
    let text = base.to_toml_string()?;
    let mut table: Table = toml::from_str(&text).map_err(|e| TrainError::Config(e.to_string()))?;
    for a in assignments {
        set(&mut table, a)?;
    }
    let text = toml::to_string(&table).map_err(|e| TrainError::Config(e.to_string()))?;
    TrainConfig::from_toml_str(&text, "command-line overrides")
}

/// Sets one `path.to.key=value` in a TOML table.
fn set(table: &mut Table, assignment: &str) -> Result<()> {
    let (path, raw) = assignment.split_once('=').ok_or_else(|| {
        TrainError::Config(format!(
            "override `{assignment}`: expected `section.key=value`"
        ))
    })?;
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(TrainError::Config(format!(
            "override `{assignment}`: empty key in `{path}`"
        )));
    }
    let value = parse_value(raw.trim());
    let Some((last, parents)) = keys.split_last() else {
        return Err(TrainError::Config(format!(
            "override `{assignment}`: no key"
        )));
    };
    let mut cur = table;
    for k in parents {
        let entry = cur
            .entry((*k).to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        cur = match entry {
            Value::Table(t) => t,
            _ => {
                return Err(TrainError::Config(format!(
                    "override `{assignment}`: `{k}` is not a table"
                )));
            }
        };
    }
    cur.insert((*last).to_string(), value);
    Ok(())
}

/// Parses a TOML value (`1`, `0.5`, `true`, `[1, 10]`, `"x"`); anything else is a string.
fn parse_value(raw: &str) -> Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed() {
        assert_eq!(parse_value("3"), Value::Integer(3));
        assert_eq!(parse_value("true"), Value::Boolean(true));
        assert_eq!(parse_value("axbn"), Value::String("axbn".into()));
        assert_eq!(parse_value("runs/x"), Value::String("runs/x".into()));
    }

    #[test]
    fn nested_override_and_errors() {
        let cfg = apply(
            &TrainConfig::default(),
            &["eval.k=[1, 10]".into(), "run.name=abc".into()],
        )
        .unwrap();
        assert_eq!(cfg.eval.k, vec![1, 10]);
        assert_eq!(cfg.run.name, "abc");
        let err = apply(&TrainConfig::default(), &["loss.nme=x".into()]).unwrap_err();
        assert!(err.to_string().contains("nme"), "{err}");
        assert!(apply(&TrainConfig::default(), &["loss".into()]).is_err());
        assert!(apply(&TrainConfig::default(), &["run.name.x=1".into()]).is_err());
    }
}
