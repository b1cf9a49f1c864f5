//! 2-D batch normalization of channels-last tensors (optionally fused with ReLU) with its own
//! forward and backward.

use std::sync::{Arc, Mutex};

use candle_core::WithDType;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Error, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::batch_norm_composed::batch_norm2d_composed;
use super::channel_sums::{gradient_sums, shifted_sums};
use super::element::{Element, with_element};
use super::storage::{cpu_tensor, host_f64, layout_slice, with_slice};

/// Which moments BatchNorm normalizes with.
#[derive(Debug, Clone, Copy)]
pub enum BatchNormStatistics<'a> {
    /// The batch's own biased moments over `N, H, W` (PyTorch's `train()` mode); gradients flow
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

/// `y = act((x − μ) / √(σ² + ε) · γ + β)` per channel `c` of a **channels-last** `x`
/// `(N, H, W, C)`, where `act` is ReLU when `relu` is set and the identity otherwise, and
/// `(μ, σ²)` come from `statistics` (PyTorch's `F.batch_norm` on `x.permute(0, 3, 1, 2)`).
///
/// On the CPU (`f32`, `f64`) this is a custom op with one statistics pass (shifted sums in `f64`,
/// accumulated along the contiguous channels) and one normalization pass; its backward recomputes `x̂ = (x − μ)/σ` from the kept input,
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
    let &[n, h, w, c] = dims.as_slice() else {
        return Err(Error::Msg(format!(
            "batch_norm2d: expected a channels-last input (N, H, W, C), got shape {dims:?}"
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
        sizes: (n * h * w, c),
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
    /// `(M, C)`: rows `M = N·H·W` of `C` channels.
    sizes: (usize, usize),
    eps: f64,
    relu: bool,
    /// Fixed `(mean, var)`; `None` normalizes with the batch moments.
    fixed: Option<(Vec<f64>, Vec<f64>)>,
    saved: Arc<Mutex<Option<Moments>>>,
}

impl BatchNormOp {
    fn moments<T: Element>(&self, x: &[T]) -> Moments {
        let (m, c) = self.sizes;
        let (mean, var) = match &self.fixed {
            Some((mean, var)) => (mean.clone(), var.clone()),
            None => channel_moments(x, m, c),
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
        let c = self.sizes.1;
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
        let block = rows_per_task(c) * c;
        y.par_chunks_mut(block)
            .zip(x.par_chunks(block))
            .enumerate()
            .for_each(|(task, (y_b, x_b))| {
                let r_b = residual.map(|r| &r[task * block..][..x_b.len()]);
                for (row, (y_r, x_r)) in
                    y_b.chunks_exact_mut(c).zip(x_b.chunks_exact(c)).enumerate()
                {
                    let affine = x_r.iter().zip(scale.iter().zip(&shift));
                    match (r_b, relu) {
                        (Some(r), _) => {
                            let r_r = &r[row * c..][..c];
                            for ((d, (&v, (&a, &b))), &rv) in y_r.iter_mut().zip(affine).zip(r_r) {
                                let z = v * a + b + rv;
                                *d = if z > T::ZERO { z } else { T::ZERO };
                            }
                        }
                        (None, true) => {
                            for (d, (&v, (&a, &b))) in y_r.iter_mut().zip(affine) {
                                let z = v * a + b;
                                *d = if z > T::ZERO { z } else { T::ZERO };
                            }
                        }
                        (None, false) => {
                            for (d, (&v, (&a, &b))) in y_r.iter_mut().zip(affine) {
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
        let (m, c) = self.sizes;
        let moments = self
            .saved
            .lock()
            .map_err(|_| Error::Msg("batch_norm2d: poisoned lock".into()))?
            .clone()
            .ok_or_else(|| Error::Msg("batch_norm2d: backward before forward".into()))?;
        let relu = self.relu;
        // Σ g and Σ g·(x − μ) per channel, in a fixed order; Σ g·x̂ = (1/σ)·Σ g·(x − μ).
        let sums = gradient_sums(dy, x, y, &moments.mean, relu);
        let sg = sums.first;
        let sgx: Vec<f64> = sums
            .second
            .iter()
            .zip(&moments.inv_std)
            .map(|(s, inv)| s * inv)
            .collect();
        // ∂L/∂x = A_c·g + B_c·x + C_c.
        let m = m as f64;
        let batch = self.fixed.is_none();
        let (mut ca, mut cb, mut cc) = (vec![T::ZERO; c], vec![T::ZERO; c], vec![T::ZERO; c]);
        for ch in 0..c {
            let (mu, inv, gm) = (moments.mean[ch], moments.inv_std[ch], gamma[ch].to_f64());
            let a = gm * inv;
            ca[ch] = T::from_f64(a);
            if batch {
                let b = -a * inv * sgx[ch] / m;
                cb[ch] = T::from_f64(b);
                cc[ch] = T::from_f64(-a * sg[ch] / m - b * mu);
            }
        }
        let mut dx = vec![T::ZERO; x.len()];
        let block = rows_per_task(c) * c;
        dx.par_chunks_mut(block)
            .zip(x.par_chunks(block))
            .zip(y.par_chunks(block).zip(dy.par_chunks(block)))
            .for_each(|((dx_b, x_b), (y_b, dy_b))| {
                let rows = dx_b
                    .chunks_exact_mut(c)
                    .zip(x_b.chunks_exact(c))
                    .zip(y_b.chunks_exact(c).zip(dy_b.chunks_exact(c)));
                for ((d_r, x_r), (y_r, g_r)) in rows {
                    let coefficients = ca.iter().zip(cb.iter().zip(&cc));
                    let values = x_r.iter().zip(y_r.iter().zip(g_r));
                    for ((d, (&a, (&b, &cst))), (&xv, (&yv, &g))) in
                        d_r.iter_mut().zip(coefficients).zip(values)
                    {
                        let g = if relu && yv <= T::ZERO { T::ZERO } else { g };
                        *d = a * g + b * xv + cst;
                    }
                }
            });
        let dgamma = sgx.iter().map(|&s| T::from_f64(s)).collect();
        let dbeta = sg.iter().map(|&s| T::from_f64(s)).collect();
        Ok((dx, dgamma, dbeta))
    }
}

/// Rows per parallel task of the element-wise passes (about 16 Ki elements).
fn rows_per_task(c: usize) -> usize {
    (16_384 / c.max(1)).max(1)
}

/// Biased per-channel mean and variance of `x` `(M, C)`, from sums shifted by the first row (no
/// cancellation when the mean is large against the spread).
fn channel_moments<T: Element>(x: &[T], m: usize, c: usize) -> (Vec<f64>, Vec<f64>) {
    let shift: Vec<f64> = x[..c].iter().map(|v| v.to_f64()).collect();
    let sums = shifted_sums(x, c, &shift);
    let m = m as f64;
    shift
        .iter()
        .zip(sums.first.iter().zip(&sums.second))
        .map(|(&sh, (&s, &ss))| {
            let mean_shifted = s / m;
            (
                sh + mean_shifted,
                (ss / m - mean_shifted * mean_shifted).max(0.0),
            )
        })
        .unzip()
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
        let op = "batch_norm2d";
        let out = with_element!(s1.dtype(), op, T => Ok(T::to_cpu_storage_owned(self.forward::<T>(
            layout_slice(s1, l1, op)?,
            layout_slice(s2, l2, op)?,
            layout_slice(s3, l3, op)?,
            None,
        )?)))?;
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
        let (dx, dgamma, dbeta) = with_element!(x.dtype(), "batch_norm2d", T => {
            self.backward_tensors::<T>(x, gamma, y, &dy)
        })?;
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
        let out = with_element!(s1.dtype(), "batch_norm2d_add_relu", T => Ok(
            T::to_cpu_storage_owned(self.forward::<T>((s1, l1), (s2, l2), (s3, l3))?)
        ))?;
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
        let (dx, daffine, dr) = with_element!(x.dtype(), "batch_norm2d_add_relu", T => {
            self.backward_tensors::<T>(x, affine, y, &dy)
        })?;
        Ok((Some(dx), Some(daffine), Some(dr)))
    }
}
