//! Saving and restoring the adaptive-XBN filter state (safetensors, or a tensor map that a
//! training checkpoint embeds under a key prefix).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::kalman::FilterState;
use crate::{AdaptiveCrossBatchNorm, Result, TrendState, XbnError};

const PARTS: [&str; 4] = ["mean", "var", "p_mean", "p_var"];

impl AdaptiveCrossBatchNorm {
    /// The filter state as named tensors, keys `{prefix}initialized` (u8, `[1]`),
    /// `{prefix}iteration` (i64, `[1]`) and, once initialized, `{prefix}mean`, `{prefix}var`,
    /// `{prefix}p_mean`, `{prefix}p_var` (`(d,)`), and for the local-linear-trend filter the
    /// six [`TrendState`] tensors under their names (`{prefix}mean_slope`, …). The prefix is used
    /// verbatim (e.g. `"axbn."`).
    /// [`MomentMatcher::state_tensors`](crate::MomentMatcher::state_tensors) calls this.
    pub fn filter_state_tensors(&self, prefix: &str) -> Result<HashMap<String, Tensor>> {
        let mut map = HashMap::new();
        let key = |name: &str| format!("{prefix}{name}");
        let (flag, iteration) = match &self.state {
            Some(s) => (1u8, s.iteration as i64),
            None => (0u8, 0i64),
        };
        map.insert(key("initialized"), Tensor::new(&[flag], &Device::Cpu)?);
        map.insert(key("iteration"), Tensor::new(&[iteration], &Device::Cpu)?);
        if let Some(s) = &self.state {
            for (name, t) in PARTS.iter().zip([&s.mean, &s.var, &s.p_mean, &s.p_var]) {
                map.insert(key(name), t.clone());
            }
            if let Some(trend) = &s.trend {
                for (name, t) in trend.parts() {
                    map.insert(key(name), t.clone());
                }
            }
        }
        Ok(map)
    }

    /// Restores the filter state from tensors written by
    /// [`AdaptiveCrossBatchNorm::filter_state_tensors`] with the same `prefix`, placing it on
    /// `device`.
    /// Keys without the prefix are ignored. On error (missing key, bad shape, dtype or value)
    /// the current state is unchanged.
    /// [`MomentMatcher::load_state_tensors`](crate::MomentMatcher::load_state_tensors) calls
    /// this.
    pub fn load_filter_state_tensors(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
        device: &Device,
    ) -> Result<()> {
        let get = |name: &str| -> Result<&Tensor> {
            tensors
                .get(&format!("{prefix}{name}"))
                .ok_or_else(|| XbnError::State(format!("missing tensor `{prefix}{name}`")))
        };
        let scalar = |name: &str, dtype: DType| -> Result<i64> {
            let t = get(name)?;
            if t.dims() != [1] || t.dtype() != dtype {
                return Err(XbnError::State(format!(
                    "`{prefix}{name}` has shape {:?} and dtype {:?}; expected [1] {dtype:?}",
                    t.dims(),
                    t.dtype()
                )));
            }
            Ok(t.to_dtype(DType::I64)?.to_vec1::<i64>()?[0])
        };
        let initialized = scalar("initialized", DType::U8)?;
        let iteration = scalar("iteration", DType::I64)?;
        let state = match initialized {
            0 => None,
            1 => {
                let iteration = u64::try_from(iteration)
                    .ok()
                    .filter(|&i| i >= 1)
                    .ok_or_else(|| {
                        XbnError::State(format!("`{prefix}iteration` = {iteration} (must be >= 1)"))
                    })?;
                let part = |name: &str| -> Result<Tensor> { Ok(get(name)?.to_device(device)?) };
                let slope_keys = [
                    "mean_slope",
                    "var_slope",
                    "p_mean_cross",
                    "p_mean_slope",
                    "p_var_cross",
                    "p_var_slope",
                ];
                let present = slope_keys
                    .iter()
                    .filter(|k| tensors.contains_key(&format!("{prefix}{k}")))
                    .count();
                let trend = match present {
                    0 => None,
                    6 => Some(TrendState {
                        mean_slope: part("mean_slope")?,
                        var_slope: part("var_slope")?,
                        p_mean_cross: part("p_mean_cross")?,
                        p_mean_slope: part("p_mean_slope")?,
                        p_var_cross: part("p_var_cross")?,
                        p_var_slope: part("p_var_slope")?,
                    }),
                    n => {
                        return Err(XbnError::State(format!(
                            "{n} of the 6 trend tensors under `{prefix}`: a trend state needs all of {slope_keys:?}"
                        )));
                    }
                };
                Some(FilterState {
                    mean: part("mean")?,
                    var: part("var")?,
                    p_mean: part("p_mean")?,
                    p_var: part("p_var")?,
                    iteration,
                    trend,
                })
            }
            v => {
                return Err(XbnError::State(format!(
                    "`{prefix}initialized` = {v} (must be 0 or 1)"
                )));
            }
        };
        self.set_state(state)
    }

    /// Writes the filter state to a safetensors file (keys of
    /// [`AdaptiveCrossBatchNorm::filter_state_tensors`] with an empty prefix).
    pub fn save_state(&self, path: impl AsRef<Path>) -> Result<()> {
        candle_core::safetensors::save(&self.filter_state_tensors("")?, path)?;
        Ok(())
    }

    /// Restores the filter state from a file written by [`AdaptiveCrossBatchNorm::save_state`];
    /// on error the current state is unchanged.
    pub fn load_state(&mut self, path: impl AsRef<Path>, device: &Device) -> Result<()> {
        let path = path.as_ref();
        let tensors = candle_core::safetensors::load(path, device)
            .map_err(|e| XbnError::State(format!("cannot read `{}`: {e}", path.display())))?;
        self.load_filter_state_tensors(&tensors, "", device)
    }
}
