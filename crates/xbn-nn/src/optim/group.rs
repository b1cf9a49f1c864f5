//! Parameter groups: named parameters sharing a learning rate and weight decay.

use std::collections::{HashMap, HashSet};

use candle_core::{Tensor, Var};

use super::error::{OptimError, Result};

/// Parameters that share hyper-parameters, e.g. `backbone`, `head` or a loss's proxies.
#[derive(Debug, Clone)]
pub struct ParamGroup {
    /// Group name used in logs (`backbone`, `head`, `loss`).
    pub name: String,
    /// Base learning rate `η_g`; the rate used at a step is `η_g · factor`, the factor set with
    /// [`super::Optimizer::set_lr_factor`] (from an [`super::LrSchedule`]).
    pub lr: f64,
    /// Weight decay `λ_g`.
    pub weight_decay: f64,
    /// The parameters, each with a name unique across all groups (its state keys derive from it).
    pub params: Vec<(String, Var)>,
}

impl ParamGroup {
    /// A group with the given base learning rate and weight decay.
    pub fn new(
        name: impl Into<String>,
        lr: f64,
        weight_decay: f64,
        params: Vec<(String, Var)>,
    ) -> Self {
        Self {
            name: name.into(),
            lr,
            weight_decay,
            params,
        }
    }
}

/// Checks hyper-parameters and that parameter names are unique across groups.
pub(crate) fn validate_groups(groups: &[ParamGroup]) -> Result<()> {
    let mut seen = HashSet::new();
    for g in groups {
        if !(g.lr.is_finite() && g.lr >= 0.0) {
            return Err(OptimError::InvalidConfig(format!(
                "group `{}`: learning rate must be finite and ≥ 0, got {}",
                g.name, g.lr
            )));
        }
        if !(g.weight_decay.is_finite() && g.weight_decay >= 0.0) {
            return Err(OptimError::InvalidConfig(format!(
                "group `{}`: weight decay must be finite and ≥ 0, got {}",
                g.name, g.weight_decay
            )));
        }
        for (name, _) in &g.params {
            if !seen.insert(name.as_str()) {
                return Err(OptimError::DuplicateParam(name.clone()));
            }
        }
    }
    Ok(())
}

/// Per-parameter state tensors keyed `{param}.{slot}`, with the checks that make loading safe.
pub(crate) fn check_state(
    groups: &[ParamGroup],
    slots: &[&str],
    state: &HashMap<String, Tensor>,
) -> Result<()> {
    let mut known = HashSet::new();
    for g in groups {
        for (name, var) in &g.params {
            for slot in slots {
                let key = format!("{name}.{slot}");
                if let Some(t) = state.get(&key) {
                    let expected: &[usize] = if *slot == "step" { &[1] } else { var.dims() };
                    if t.dims() != expected {
                        return Err(OptimError::State(format!(
                            "`{key}` has shape {:?}, parameter needs {expected:?}",
                            t.dims()
                        )));
                    }
                }
                known.insert(key);
            }
        }
    }
    let mut unexpected: Vec<&String> = state.keys().filter(|k| !known.contains(*k)).collect();
    unexpected.sort();
    if let Some(first) = unexpected.first() {
        return Err(OptimError::State(format!(
            "{} entr{} for no parameter of this optimizer, first `{first}`",
            unexpected.len(),
            if unexpected.len() == 1 { "y" } else { "ies" }
        )));
    }
    Ok(())
}
