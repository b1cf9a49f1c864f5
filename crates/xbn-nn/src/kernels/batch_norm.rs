//! 2-D batch normalization (optionally fused with ReLU) with its own forward and backward.

use std::sync::{Arc, Mutex};

use candle_core::WithDType;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::batch_norm_composed::batch_norm2d_composed;
use super::element::Element;
use super::lanes::{gradient_sums, shifted_sums};
use super::storage::{cpu_tensor, host_f64, layout_slice, with_slice};

/// Which moments BatchNorm normalizes with.
#[derive(Debug, Clone, Copy)]
pub enum BatchNormStatistics<'a> {
    /// The batch's own biased moments over `(N, H, W)` (PyTorch's `train()` mode); gradients flow
    /// through them.
    Batch,
    /// Given moments, e.g. the running statistics (PyTorch's `eval()` mode or frozen BN); they
    /// are constants for the gradient.
    Fixed {
        /// Per-channel mean `(C,)`.
        mean: &'a Tensor,
        /// Per-channel variance `(C,)`.
        var: &'a Tensor,
    },
}

/// The normalized output and, with [`BatchNormStatistics::Batch`], the batch moments (detached,
/// `(C,)`, variance biased) for the caller's running-statistics update.
#[derive(Debug, Clone)]
pub struct BatchNormOutput {
    /// `y`, the shape of the input.
    pub output: Tensor,
    /// `(μ_B, σ²_B)` of the batch, when it was normalized with its own moments.
    pub batch_moments: Option<(Tensor, Tensor)>,
}

/// `y = act((x − μ) / √(σ² + ε) · γ + β)` per channel `c` of `x` `(N, C, H, W)`, where `act` is
/// ReLU when `relu` is set and the identity otherwise, and `(μ, σ²)` come from `statistics`.
///
/// On the CPU (`f32`, `f64`) this is a custom op with one statistics pass (shifted sums in `f64`)
/// and one normalization pass; its backward recomputes `x̂ = (x − μ)/σ` from the kept input,
/// masks the incoming gradient `g` by `y > 0` under ReLU, and with `m = N·H·W` returns
///
/// - `∂L/∂β = Σ g`, `∂L/∂γ = Σ g·x̂`,
/// - batch moments: `∂L/∂x = γ/σ · (g − Σg/m − x̂·Σ(g·x̂)/m)`,
/// - fixed moments: `∂L/∂x = γ/σ · g`.
///
/// Other devices use the same formulas through composed candle ops.
pub fn batch_norm2d(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    statistics: BatchNormStatistics<'_>,
    eps: f64,
    relu: bool,
) -> Result<BatchNormOutput> {
    batch_norm2d_impl(x, gamma, beta, None, statistics, eps, relu)
}

/// The end of a residual block in one kernel: `y = ReLU(BN(x) + r)` with `BN` as in
/// [`batch_norm2d`] and `r` the shortcut, the shape of `x`. Backward masks `g` by `y > 0`, passes
/// `∂L/∂r = g` and runs BatchNorm's backward on `g`; neither `BN(x)` nor the sum is stored.
pub fn batch_norm2d_add_relu(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    residual: &Tensor,
    statistics: BatchNormStatistics<'_>,
    eps: f64,
) -> Result<BatchNormOutput> {
    if residual.dims() != x.dims() {
        return Err(Error::Msg(format!(
            "batch_norm2d_add_relu: shortcut {:?} differs from input {:?}",
            residual.dims(),
            x.dims()
        )));
    }
    batch_norm2d_impl(x, gamma, beta, Some(residual), statistics, eps, true)
}

fn batch_norm2d_impl(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    residual: Option<&Tensor>,
    statistics: BatchNormStatistics<'_>,
    eps: f64,
    relu: bool,
) -> Result<BatchNormOutput> {
    let dims = x.dims().to_vec();
    let &[n, c, h, w] = dims.as_slice() else {
        return Err(Error::Msg(format!(
            "batch_norm2d: expected input (N, C, H, W), got shape {dims:?}"
        )));
    };
    for (what, t) in [("γ", gamma), ("β", beta)] {
        if t.dims() != [c] {
            return Err(Error::Msg(format!(
                "batch_norm2d: {what} has shape {:?}, expected ({c},) for input {dims:?}",
                t.dims()
            )));
        }
    }
    if matches!(statistics, BatchNormStatistics::Batch) && n * h * w < 2 {
        return Err(Error::Msg(format!(
            "batch_norm2d: batch moments need more than one value per channel, got input {dims:?}"
        )));
    }
    let cpu_kernel = x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64);
    if !cpu_kernel {
        return batch_norm2d_composed(x, gamma, beta, residual, statistics, eps, relu);
    }
    let fixed = match statistics {
        BatchNormStatistics::Batch => None,
        BatchNormStatistics::Fixed { mean, var } => Some((host_f64(mean)?, host_f64(var)?)),
    };
    let saved = Arc::new(Mutex::new(None));
    let op = BatchNormOp {
        sizes: (n, c, h * w),
        eps,
        relu,
        fixed,
        saved: saved.clone(),
    };
    let gamma = gamma.to_dtype(x.dtype())?.contiguous()?;
    let beta = beta.to_dtype(x.dtype())?.contiguous()?;
    let output = match residual {
        None => x.contiguous()?.apply_op3(&gamma, &beta, op)?,
        Some(r) => {
            // γ and β travel as one (2, C) tensor so the shortcut fits the third input.
            let affine = Tensor::stack(&[&gamma, &beta], 0)?;
            let r = r.to_dtype(x.dtype())?.contiguous()?;
            x.contiguous()?.apply_op3(&affine, &r, ResidualOp(op))?
        }
    };
    let batch_moments = match statistics {
        BatchNormStatistics::Fixed { .. } => None,
        BatchNormStatistics::Batch => {
            let moments = saved
                .lock()
                .map_err(|_| Error::Msg("batch_norm2d: poisoned lock".into()))?
                .clone()
                .ok_or_else(|| Error::Msg("batch_norm2d: forward saved no moments".into()))?;
            Some((
                Tensor::new(moments.mean, x.device())?.to_dtype(x.dtype())?,
                Tensor::new(moments.var, x.device())?.to_dtype(x.dtype())?,
            ))
        }
    };
    Ok(BatchNormOutput {
        output,
        batch_moments,
    })
}

/// Per-channel moments of one forward pass, kept for backward.
#[derive(Debug, Clone)]
struct Moments {
    mean: Vec<f64>,
    var: Vec<f64>,
    inv_std: Vec<f64>,
}

struct BatchNormOp {
    /// `(N, C, H·W)`.
    sizes: (usize, usize, usize),
    eps: f64,
    relu: bool,
    /// Fixed `(mean, var)`; `None` normalizes with the batch moments.
    fixed: Option<(Vec<f64>, Vec<f64>)>,
    saved: Arc<Mutex<Option<Moments>>>,
}

impl BatchNormOp {
    fn moments<T: Element>(&self, x: &[T]) -> Moments {
        let (n, c, hw) = self.sizes;
        let (mean, var) = match &self.fixed {
            Some((mean, var)) => (mean.clone(), var.clone()),
            None => channel_moments(x, n, c, hw),
        };
        let inv_std = var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect();
        Moments { mean, var, inv_std }
    }

    fn forward<T: Element>(
        &self,
        x: &[T],
        gamma: &[T],
        beta: &[T],
        residual: Option<&[T]>,
    ) -> Result<Vec<T>> {
        let (_, c, hw) = self.sizes;
        let moments = self.moments(x);
        // y = x·a_c + b_c with a_c = γ_c/σ_c, b_c = β_c − μ_c·a_c.
        let scale: Vec<T> = (0..c)
            .map(|ch| T::from_f64(gamma[ch].to_f64() * moments.inv_std[ch]))
            .collect();
        let shift: Vec<T> = (0..c)
            .map(|ch| {
                T::from_f64(
                    beta[ch].to_f64() - moments.mean[ch] * gamma[ch].to_f64() * moments.inv_std[ch],
                )
            })
            .collect();
        let mut y = vec![T::ZERO; x.len()];
        let relu = self.relu;
        y.par_chunks_mut(c * hw)
            .zip(x.par_chunks(c * hw))
            .enumerate()
            .for_each(|(img, (y_n, x_n))| {
                for ch in 0..c {
                    let (a, b) = (scale[ch], shift[ch]);
                    let dst = &mut y_n[ch * hw..][..hw];
                    let src = &x_n[ch * hw..][..hw];
                    match (residual, relu) {
                        (Some(r), _) => {
                            let r = &r[(img * c + ch) * hw..][..hw];
                            for ((d, &v), &rv) in dst.iter_mut().zip(src).zip(r) {
                                let z = v * a + b + rv;
                                *d = if z > T::ZERO { z } else { T::ZERO };
                            }
                        }
                        (None, true) => {
                            for (d, &v) in dst.iter_mut().zip(src) {
                                let z = v * a + b;
                                *d = if z > T::ZERO { z } else { T::ZERO };
                            }
                        }
                        (None, false) => {
                            for (d, &v) in dst.iter_mut().zip(src) {
                                *d = v * a + b;
                            }
                        }
                    }
                }
            });
        *self
            .saved
            .lock()
            .map_err(|_| Error::Msg("batch_norm2d: poisoned lock".into()))? = Some(moments);
        Ok(y)
    }

    /// `(∂L/∂x, ∂L/∂γ, ∂L/∂β)` on host slices.
    fn backward<T: Element>(
        &self,
        x: &[T],
        gamma: &[T],
        y: &[T],
        dy: &[T],
    ) -> Result<(Vec<T>, Vec<T>, Vec<T>)> {
        let (n, c, hw) = self.sizes;
        let moments = self
            .saved
            .lock()
            .map_err(|_| Error::Msg("batch_norm2d: poisoned lock".into()))?
            .clone()
            .ok_or_else(|| Error::Msg("batch_norm2d: backward before forward".into()))?;
        let relu = self.relu;
        // Σ g and Σ g·x̂ per channel, each channel summed in a fixed order.
        let sums: Vec<(f64, f64)> = (0..c)
            .into_par_iter()
            .map(|ch| {
                let (mut sg, mut sgc) = (0.0, 0.0);
                for img in 0..n {
                    let run = (img * c + ch) * hw..(img * c + ch + 1) * hw;
                    let (a, b) = gradient_sums(
                        &dy[run.clone()],
                        &x[run.clone()],
                        &y[run],
                        moments.mean[ch],
                        relu,
                    );
                    sg += a;
                    sgc += b;
                }
                // Σ g·x̂ = (1/σ)·Σ g·(x − μ).
                (sg, sgc * moments.inv_std[ch])
            })
            .collect();
        // ∂L/∂x = A_c·g + B_c·x + C_c.
        let m = (n * hw) as f64;
        let batch = self.fixed.is_none();
        let coefficients: Vec<(T, T, T)> = (0..c)
            .map(|ch| {
                let (mu, inv, gm) = (moments.mean[ch], moments.inv_std[ch], gamma[ch].to_f64());
                let a = gm * inv;
                if batch {
                    let (sg, sgx) = sums[ch];
                    let b = -a * inv * sgx / m;
                    let cst = -a * sg / m - b * mu;
                    (T::from_f64(a), T::from_f64(b), T::from_f64(cst))
                } else {
                    (T::from_f64(a), T::ZERO, T::ZERO)
                }
            })
            .collect();
        let mut dx = vec![T::ZERO; x.len()];
        dx.par_chunks_mut(c * hw)
            .zip(x.par_chunks(c * hw))
            .zip(y.par_chunks(c * hw).zip(dy.par_chunks(c * hw)))
            .for_each(|((dx_n, x_n), (y_n, dy_n))| {
                for (ch, &(a, b, cst)) in coefficients.iter().enumerate() {
                    let run = ch * hw..(ch + 1) * hw;
                    let rows = dx_n[run.clone()]
                        .iter_mut()
                        .zip(&x_n[run.clone()])
                        .zip(y_n[run.clone()].iter().zip(&dy_n[run]));
                    if relu {
                        for ((d, &xv), (&yv, &g)) in rows {
                            let g = if yv > T::ZERO { g } else { T::ZERO };
                            *d = a * g + b * xv + cst;
                        }
                    } else {
                        for ((d, &xv), (_, &g)) in rows {
                            *d = a * g + b * xv + cst;
                        }
                    }
                }
            });
        let dgamma = sums.iter().map(|s| T::from_f64(s.1)).collect();
        let dbeta = sums.iter().map(|s| T::from_f64(s.0)).collect();
        Ok((dx, dgamma, dbeta))
    }
}

/// Biased per-channel mean and variance of `x` `(N, C, HW)`, from sums shifted by each channel's
/// first value (no cancellation when the mean is large against the spread).
fn channel_moments<T: Element>(x: &[T], n: usize, c: usize, hw: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (n * hw) as f64;
    let per_channel: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let shift = x[ch * hw].to_f64();
            let (mut s, mut ss) = (0.0, 0.0);
            for img in 0..n {
                let (a, b) = shifted_sums(&x[(img * c + ch) * hw..][..hw], shift);
                s += a;
                ss += b;
            }
            let mean_shifted = s / m;
            (
                shift + mean_shifted,
                (ss / m - mean_shifted * mean_shifted).max(0.0),
            )
        })
        .collect();
    per_channel.into_iter().unzip()
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "xbn-batch-norm2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = match s1.dtype() {
            DType::F32 => f32::to_cpu_storage_owned(self.forward(
                layout_slice(s1, l1, "batch_norm2d")?,
                layout_slice(s2, l2, "batch_norm2d")?,
                layout_slice(s3, l3, "batch_norm2d")?,
                None,
            )?),
            DType::F64 => f64::to_cpu_storage_owned(self.forward(
                layout_slice(s1, l1, "batch_norm2d")?,
                layout_slice(s2, l2, "batch_norm2d")?,
                layout_slice(s3, l3, "batch_norm2d")?,
                None,
            )?),
            other => {
                return Err(Error::Msg(format!(
                    "batch_norm2d: unsupported dtype {other:?}"
                )));
            }
        };
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let (dx, dgamma, dbeta) = match x.dtype() {
            DType::F32 => self.backward_tensors::<f32>(x, gamma, y, &dy)?,
            DType::F64 => self.backward_tensors::<f64>(x, gamma, y, &dy)?,
            other => {
                return Err(Error::Msg(format!(
                    "batch_norm2d: unsupported dtype {other:?}"
                )));
            }
        };
        Ok((Some(dx), Some(dgamma), Some(dbeta)))
    }
}

impl BatchNormOp {
    fn backward_tensors<T: Element>(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let op = "batch_norm2d backward";
        let (dx, dgamma, dbeta) = with_slice::<T, _>(x, op, |xs| {
            with_slice::<T, _>(gamma, op, |gs| {
                with_slice::<T, _>(y, op, |ys| {
                    with_slice::<T, _>(dy, op, |dys| self.backward(xs, gs, ys, dys))
                })
            })
        })?????;
        let c = self.sizes.1;
        Ok((
            cpu_tensor(dx, x.dims())?,
            cpu_tensor(dgamma, &[c])?,
            cpu_tensor(dbeta, &[c])?,
        ))
    }
}

/// [`BatchNormOp`] with a shortcut added before the ReLU; inputs `(x, [γ; β], r)`.
struct ResidualOp(BatchNormOp);

impl ResidualOp {
    fn forward<T: Element>(
        &self,
        x: (&CpuStorage, &Layout),
        affine: (&CpuStorage, &Layout),
        residual: (&CpuStorage, &Layout),
    ) -> Result<Vec<T>> {
        let op = "batch_norm2d_add_relu";
        let affine = layout_slice::<T>(affine.0, affine.1, op)?;
        let c = self.0.sizes.1;
        self.0.forward(
            layout_slice(x.0, x.1, op)?,
            &affine[..c],
            &affine[c..],
            Some(layout_slice(residual.0, residual.1, op)?),
        )
    }

    fn backward_tensors<T: Element>(
        &self,
        x: &Tensor,
        affine: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let c = self.0.sizes.1;
        let gamma = affine.get(0)?;
        let (dx, dgamma, dbeta) = self.0.backward_tensors::<T>(x, &gamma, y, dy)?;
        // ∂L/∂r = g = dy·[y > 0].
        let op = "batch_norm2d_add_relu backward";
        let dr = with_slice::<T, _>(y, op, |ys| {
            with_slice::<T, _>(dy, op, |dys| {
                let mut dr = vec![T::ZERO; ys.len()];
                dr.par_chunks_mut(1 << 14)
                    .zip(ys.par_chunks(1 << 14).zip(dys.par_chunks(1 << 14)))
                    .for_each(|(d, (yc, gc))| {
                        for ((d, &yv), &g) in d.iter_mut().zip(yc).zip(gc) {
                            *d = if yv > T::ZERO { g } else { T::ZERO };
                        }
                    });
                dr
            })
        })??;
        let daffine = Tensor::stack(&[&dgamma, &dbeta], 0)?.reshape((2, c))?;
        Ok((dx, daffine, cpu_tensor(dr, x.dims())?))
    }
}

impl CustomOp3 for ResidualOp {
    fn name(&self) -> &'static str {
        "xbn-batch-norm2d-add-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = match s1.dtype() {
            DType::F32 => f32::to_cpu_storage_owned(self.forward((s1, l1), (s2, l2), (s3, l3))?),
            DType::F64 => f64::to_cpu_storage_owned(self.forward((s1, l1), (s2, l2), (s3, l3))?),
            other => {
                return Err(Error::Msg(format!(
                    "batch_norm2d_add_relu: unsupported dtype {other:?}"
                )));
            }
        };
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        affine: &Tensor,
        _residual: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let (dx, daffine, dr) = match x.dtype() {
            DType::F32 => self.backward_tensors::<f32>(x, affine, y, &dy)?,
            DType::F64 => self.backward_tensors::<f64>(x, affine, y, &dy)?,
            other => {
                return Err(Error::Msg(format!(
                    "batch_norm2d_add_relu: unsupported dtype {other:?}"
                )));
            }
        };
        Ok((Some(dx), Some(daffine), Some(dr)))
    }
}
