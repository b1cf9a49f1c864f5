//! The `--device` / `run.device` setting: `cpu`, `cuda`, `cuda:1`, `metal`.

use candle_core::Device;

use crate::error::{Result, TrainError};

/// Parses `cpu`, `cuda`, `cuda:N`, `metal` or `metal:N` into a candle [`Device`].
///
/// A device whose backend this build lacks gives an error that says which feature to enable.
/// (Tests take theirs from `xbn_core::test_util::test_device`.)
///
/// ```
/// let cpu = xbn_train::device::parse_device("cpu").unwrap();
/// assert!(cpu.is_cpu());
/// assert!(xbn_train::device::parse_device("tpu").is_err());
/// ```
pub fn parse_device(spec: &str) -> Result<Device> {
    let err = |reason: String| TrainError::Device {
        spec: spec.to_string(),
        reason,
    };
    let s = spec.trim().to_ascii_lowercase();
    let (kind, ordinal) = match s.split_once(':') {
        Some((k, n)) => {
            let n: usize = n
                .parse()
                .map_err(|_| err(format!("`{n}` is not a device ordinal")))?;
            (k.to_string(), n)
        }
        None => (s.clone(), 0),
    };
    match kind.as_str() {
        "cpu" => Ok(Device::Cpu),
        "cuda" | "gpu" => {
            if !candle_core::utils::cuda_is_available() {
                return Err(err(
                    "this build has no CUDA support; rebuild with `--features cuda`".into(),
                ));
            }
            Device::new_cuda(ordinal).map_err(|e| err(e.to_string()))
        }
        "metal" | "mps" => {
            if !candle_core::utils::metal_is_available() {
                return Err(err(
                    "this build has no Metal support; rebuild with `--features metal`".into(),
                ));
            }
            Device::new_metal(ordinal).map_err(|e| err(e.to_string()))
        }
        other => Err(err(format!(
            "unknown device kind `{other}` (expected cpu, cuda[:N] or metal[:N])"
        ))),
    }
}
