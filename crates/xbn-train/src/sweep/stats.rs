//! Seed statistics of a sweep: mean, standard deviation and the 95 % Student-t interval of a
//! metric over seeds, and the same for paired differences between two methods on the same seeds.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// A sample's mean with its 95 % t-interval.
///
/// For values `x_1 … x_n`: `x̄ = Σ x_i / n`, `s = √(Σ (x_i − x̄)² / (n − 1))` and the interval
/// `x̄ ± t_{0.975, n−1} · s / √n`. With one value `s` and the interval are undefined (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Number of values.
    pub n: usize,
    /// Their mean `x̄`.
    pub mean: f64,
    /// Sample standard deviation `s` (`n − 1` in the denominator).
    pub sd: Option<f64>,
    /// Lower end of the 95 % interval.
    pub low: Option<f64>,
    /// Upper end of the 95 % interval.
    pub high: Option<f64>,
}

impl Interval {
    /// The interval of `values`; `None` when there are none or one is not finite.
    pub fn of(values: &[f64]) -> Option<Interval> {
        let n = values.len();
        if n == 0 || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Interval {
                n,
                mean,
                sd: None,
                low: None,
                high: None,
            });
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let half = t_quantile(n - 1)? * sd / (n as f64).sqrt();
        Some(Interval {
            n,
            mean,
            sd: Some(sd),
            low: Some(mean - half),
            high: Some(mean + half),
        })
    }

    /// Half the interval's width, `t · s / √n`.
    pub fn half_width(&self) -> Option<f64> {
        Some((self.high? - self.low?) / 2.0)
    }

    /// Whether the whole interval lies above 0 (`Some(true)`), below 0 (`Some(false)`), or
    /// contains 0 or is undefined (`None`).
    pub fn sign(&self) -> Option<bool> {
        match (self.low?, self.high?) {
            (low, _) if low > 0.0 => Some(true),
            (_, high) if high < 0.0 => Some(false),
            _ => None,
        }
    }
}

/// The paired differences `a_i − b_i` of two methods run with the same seeds (`a` and `b`
/// hold `(seed, value)`; seeds present in only one are left out), with their interval.
pub fn paired_difference(a: &[(u64, f64)], b: &[(u64, f64)]) -> Option<Interval> {
    let diffs: Vec<f64> = a
        .iter()
        .filter_map(|(seed, x)| b.iter().find(|(s, _)| s == seed).map(|(_, y)| x - y))
        .collect();
    Interval::of(&diffs)
}

/// `t_{(1+CONFIDENCE)/2, df}`, the two-sided critical value of Student's t.
pub fn t_quantile(df: usize) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    Some(t.inverse_cdf(0.5 + CONFIDENCE / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Critical values from a printed table of Student's t (two-sided 95 %).
    #[test]
    fn t_quantiles_match_the_table() {
        for (df, table) in [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042)] {
            let t = t_quantile(df).unwrap();
            assert!((t - table).abs() < 1e-3, "df {df}: {t} vs {table}");
        }
    }

    /// 1, 2, 3, 4, 5: mean 3, s = √2.5 = 1.5811, half width 2.776 · 1.5811 / √5 = 1.9632.
    #[test]
    fn interval_of_a_worked_example() {
        let i = Interval::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(i.n, 5);
        assert!((i.mean - 3.0).abs() < 1e-12);
        assert!((i.sd.unwrap() - 1.581_139).abs() < 1e-6);
        assert!((i.half_width().unwrap() - 1.9632).abs() < 1e-3);
        assert_eq!(i.sign(), Some(true));
        let one = Interval::of(&[0.7]).unwrap();
        assert_eq!((one.mean, one.sd, one.low), (0.7, None, None));
        assert!(Interval::of(&[]).is_none());
        assert!(Interval::of(&[1.0, f64::NAN]).is_none());
    }

    /// Seeds 0, 1, 2 in both, seed 3 only in `a`: differences 0.02, 0.05, −0.01, mean 0.02,
    /// s = 0.03, half width 4.303 · 0.03 / √3 = 0.0745, so the interval contains 0.
    #[test]
    fn paired_differences_use_the_common_seeds() {
        let a = [(0, 0.50), (1, 0.52), (2, 0.49), (3, 0.90)];
        let b = [(2, 0.50), (0, 0.48), (1, 0.47)];
        let d = paired_difference(&a, &b).unwrap();
        assert_eq!(d.n, 3);
        assert!((d.mean - 0.02).abs() < 1e-12);
        assert!((d.sd.unwrap() - 0.03).abs() < 1e-12);
        assert!((d.half_width().unwrap() - 0.0745).abs() < 1e-3);
        assert_eq!(d.sign(), None);
        // A consistent gain is above 0.
        let b_low = [(0, 0.40), (1, 0.41), (2, 0.39)];
        assert_eq!(paired_difference(&a, &b_low).unwrap().sign(), Some(true));
    }
}
