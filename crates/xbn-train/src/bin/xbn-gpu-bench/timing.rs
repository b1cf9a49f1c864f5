//! Timed regions with device synchronization, and their summary.

use std::time::Instant;

use candle_core::Device;
use serde::Serialize;

/// Warm-up and timed repetitions of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Reps {
    /// Untimed runs first (kernel loading, allocator warm-up).
    pub warmup: usize,
    /// Timed runs; the median is reported.
    pub iters: usize,
}

/// One measured quantity of the report (the PyTorch peer writes the same fields).
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Stable key shared with the peer, e.g. `xbn_update` or `resnet50_b64.backward`.
    pub name: String,
    /// Sizes, e.g. `m=65536,d=512,b=128`.
    pub params: String,
    /// Median wall time of one run, in milliseconds.
    pub median_ms: f64,
    /// Fastest run, in milliseconds.
    pub min_ms: f64,
    /// Timed runs.
    pub iters: usize,
    /// Images per second at the median, for training steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_per_s: Option<f64>,
}

impl Measurement {
    /// A measurement from raw per-run times in milliseconds (not empty).
    pub fn from_times(name: &str, params: &str, mut times: Vec<f64>) -> Self {
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            times[n / 2]
        } else {
            0.5 * (times[n / 2 - 1] + times[n / 2])
        };
        Self {
            name: name.to_string(),
            params: params.to_string(),
            median_ms: median,
            min_ms: times.first().copied().unwrap_or(f64::NAN),
            iters: n,
            images_per_s: None,
        }
    }

    /// Adds `images / median` as images per second.
    pub fn with_images(mut self, images: usize) -> Self {
        self.images_per_s = Some(images as f64 / (self.median_ms / 1e3));
        self
    }
}

/// Runs `f` `warmup` times, then `iters` timed times; the device is synchronized before the
/// clock starts and before it stops, so queued GPU work is counted in full.
pub fn time_runs(
    device: &Device,
    reps: Reps,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Vec<f64>> {
    for _ in 0..reps.warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(reps.iters);
    for _ in 0..reps.iters {
        device.synchronize()?;
        let start = Instant::now();
        f()?;
        device.synchronize()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(times)
}

/// Accumulates the time of several synchronized phases inside one run.
pub struct PhaseClock<'a> {
    device: &'a Device,
    last: Instant,
}

impl<'a> PhaseClock<'a> {
    /// Synchronizes and starts the clock.
    pub fn start(device: &'a Device) -> anyhow::Result<Self> {
        device.synchronize()?;
        Ok(Self {
            device,
            last: Instant::now(),
        })
    }

    /// Synchronizes and returns the milliseconds since the previous lap.
    pub fn lap(&mut self) -> anyhow::Result<f64> {
        self.device.synchronize()?;
        let now = Instant::now();
        let ms = (now - self.last).as_secs_f64() * 1e3;
        self.last = now;
        Ok(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let m = Measurement::from_times("x", "", vec![3.0, 1.0, 2.0]);
        assert_eq!((m.median_ms, m.min_ms, m.iters), (2.0, 1.0, 3));
        let m = Measurement::from_times("x", "", vec![4.0, 1.0, 2.0, 3.0]);
        assert_eq!(m.median_ms, 2.5);
        let m = m.with_images(10);
        assert_eq!(m.images_per_s, Some(4000.0));
    }
}
