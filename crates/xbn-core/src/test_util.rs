//! Helpers for tests, benches and examples (feature `test-util`; not for production code).

use candle_core::Device;

/// The device tests run on: `XBN_TEST_DEVICE` (`cpu`, `cuda`, `cuda:N`, `metal`, `metal:N`),
/// or the CPU when the variable is unset or empty.
///
/// Panics with a message naming the variable when it names a device this build cannot open,
/// so that a GPU test run never silently falls back to the CPU.
pub fn test_device() -> Device {
    let spec = std::env::var("XBN_TEST_DEVICE").unwrap_or_default();
    let spec = spec.trim().to_ascii_lowercase();
    let (kind, ordinal) = match spec.split_once(':') {
        Some((kind, n)) => match n.parse::<usize>() {
            Ok(n) => (kind, n),
            Err(_) => panic!("XBN_TEST_DEVICE=`{spec}`: `{n}` is not a device ordinal"),
        },
        None => (spec.as_str(), 0),
    };
    let opened = match kind {
        "" | "cpu" => Ok(Device::Cpu),
        "cuda" => Device::new_cuda(ordinal),
        "metal" => Device::new_metal(ordinal),
        other => panic!("XBN_TEST_DEVICE=`{other}`: expected cpu, cuda[:N] or metal[:N]"),
    };
    opened.unwrap_or_else(|e| panic!("XBN_TEST_DEVICE=`{spec}`: {e}"))
}
