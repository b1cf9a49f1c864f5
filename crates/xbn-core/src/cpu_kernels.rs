//! Fused CPU kernels (rayon over row blocks) for the two memory-sized passes of XBN: the
//! per-column moments (M1)–(M2) and the affine map with row renormalization (X2)+(R). They
//! compute the same equations as the generic candle-op path used on other devices; the tests
//! check both against the independent reference.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, WithDType, bail};
use rayon::prelude::*;

use crate::matching::NORM_FLOOR;

/// Rows per parallel task.
const BLOCK_ROWS: usize = 512;

fn contiguous<'a, T>(v: &'a [T], l: &Layout) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("xbn cpu kernel: input is not contiguous"),
    }
}

fn add_into(mut acc: Vec<f64>, other: Vec<f64>) -> Vec<f64> {
    acc.iter_mut().zip(other).for_each(|(a, b)| *a += b);
    acc
}

/// Column mean and biased variance of a row-major `(n × d)` slice, two passes, f64 accumulation.
fn column_moments<T: WithDType>(x: &[T], n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    if d == 0 || n == 0 {
        return (vec![f64::NAN; d], vec![f64::NAN; d]);
    }
    let zeros = || vec![0f64; d];
    let sums = x
        .par_chunks(BLOCK_ROWS * d)
        .map(|blk| {
            let mut s = zeros();
            for row in blk.chunks_exact(d) {
                s.iter_mut().zip(row).for_each(|(a, v)| *a += v.to_f64());
            }
            s
        })
        .reduce(zeros, add_into);
    let mean: Vec<f64> = sums.iter().map(|s| s / n as f64).collect();
    let ss = x
        .par_chunks(BLOCK_ROWS * d)
        .map(|blk| {
            let mut s = zeros();
            for row in blk.chunks_exact(d) {
                for ((a, v), m) in s.iter_mut().zip(row).zip(&mean) {
                    let c = v.to_f64() - m;
                    *a += c * c;
                }
            }
            s
        })
        .reduce(zeros, add_into);
    let var = ss.iter().map(|s| s / n as f64).collect();
    (mean, var)
}

/// Custom op: `(n × d)` f32/f64 → `(2 × d)` of the same dtype, rows `[mean; biased variance]`.
pub(crate) struct ColumnMoments;

impl CustomOp1 for ColumnMoments {
    fn name(&self) -> &'static str {
        "xbn-column-moments"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, d) = l.shape().dims2()?;
        let out = |(m, v): (Vec<f64>, Vec<f64>)| m.into_iter().chain(v);
        let storage = match s {
            CpuStorage::F32(x) => {
                let x = contiguous(x, l)?;
                CpuStorage::F32(out(column_moments(x, n, d)).map(|v| v as f32).collect())
            }
            CpuStorage::F64(x) => {
                let x = contiguous(x, l)?;
                CpuStorage::F64(out(column_moments(x, n, d)).collect())
            }
            _ => bail!("xbn-column-moments: only f32/f64"),
        };
        Ok((storage, Shape::from((2, d))))
    }
}

fn affine_rows<T: WithDType>(x: &[T], a: &[T], c: &[T], d: usize, renorm: bool) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    if d == 0 {
        return out;
    }
    out.par_chunks_mut(BLOCK_ROWS * d)
        .zip(x.par_chunks(BLOCK_ROWS * d))
        .for_each(|(o, xi)| {
            for (orow, xrow) in o.chunks_exact_mut(d).zip(xi.chunks_exact(d)) {
                for (((y, v), ak), ck) in orow.iter_mut().zip(xrow).zip(a).zip(c) {
                    *y = *v * *ak + *ck;
                }
                if renorm {
                    let norm = orow
                        .iter()
                        .map(|y| y.to_f64() * y.to_f64())
                        .sum::<f64>()
                        .sqrt();
                    let inv = T::from_f64(1.0 / norm.max(NORM_FLOOR));
                    orow.iter_mut().for_each(|y| *y *= inv);
                }
            }
        });
    out
}

/// Custom op: `x (m × d)`, `a (d,)`, `c (d,)`, one dtype (f32/f64) → `x·a + c` per column,
/// rows optionally L2-normalized.
pub(crate) struct AffineRows {
    pub renormalize: bool,
}

impl CustomOp3 for AffineRows {
    fn name(&self) -> &'static str {
        "xbn-affine-rows"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, d) = l1.shape().dims2()?;
        if l2.shape().dims() != [d] || l3.shape().dims() != [d] {
            bail!("xbn-affine-rows: coefficients must have shape ({d},)")
        }
        let r = self.renormalize;
        let storage = match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(a), CpuStorage::F32(c)) => {
                CpuStorage::F32(affine_rows(
                    contiguous(x, l1)?,
                    contiguous(a, l2)?,
                    contiguous(c, l3)?,
                    d,
                    r,
                ))
            }
            (CpuStorage::F64(x), CpuStorage::F64(a), CpuStorage::F64(c)) => {
                CpuStorage::F64(affine_rows(
                    contiguous(x, l1)?,
                    contiguous(a, l2)?,
                    contiguous(c, l3)?,
                    d,
                    r,
                ))
            }
            _ => bail!("xbn-affine-rows: only f32/f64 with matching dtypes"),
        };
        Ok((storage, l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    //! The fused CPU kernels against the generic candle-op path used on other devices.
    use candle_core::{DType, Device, Tensor};

    use super::{AffineRows, ColumnMoments};
    use crate::matching::generic_affine_rows;
    use crate::moments::generic_mean_var;

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    #[test]
    fn fused_kernels_equal_the_generic_path() {
        for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 2e-6)] {
            // 1300 rows: several row blocks and a partial one
            let x = (Tensor::randn(0.3f64, 2.0, (1300, 7), &Device::Cpu).unwrap())
                .to_dtype(dtype)
                .unwrap();
            let mv = x.apply_op1_no_bwd(&ColumnMoments).unwrap();
            // The kernel accumulates in f64: compare it with the exact moments of the same
            // values (the generic path in f64), rounded to the dtype. The generic path in f32
            // carries its own accumulation error (up to ~1e-5 on a variance of 4 here), which
            // made a direct f32-to-f32 comparison fail now and then.
            let exact = generic_mean_var(&x.to_dtype(DType::F64).unwrap()).unwrap();
            let (mean, var) = (
                exact.0.to_dtype(dtype).unwrap(),
                exact.1.to_dtype(dtype).unwrap(),
            );
            assert!(max_diff(&mv.get(0).unwrap(), &mean) < tol, "{dtype:?} mean");
            assert!(
                max_diff(&mv.get(1).unwrap(), &var) < 4.0 * tol,
                "{dtype:?} var"
            );
            let a = Tensor::randn(1f64, 0.5, 7, &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            let c = Tensor::randn(0f64, 0.5, 7, &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            for renormalize in [false, true] {
                let fused = x
                    .apply_op3_no_bwd(&a, &c, &AffineRows { renormalize })
                    .unwrap();
                let generic = generic_affine_rows(&x, &a, &c, renormalize).unwrap();
                assert!(
                    max_diff(&fused, &generic) < tol,
                    "{dtype:?} renormalize={renormalize}"
                );
            }
        }
    }
}
