//! Layer normalization over the last dimension, fused forward and backward.

use candle_core::{CpuStorage, CustomOp3, D, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::rows::fused_applies;
use super::storage::{cpu_tensor, layout_slice, with_slice};

/// Rows per rayon task.
const ROWS_PER_TASK: usize = 64;

/// `y = (x − μ) / √(σ² + ε) · γ + β` over the last dimension (`torch.nn.LayerNorm`: biased
/// variance), `γ`, `β` of that dimension's size.
///
/// On the CPU in f32 a custom op: one pass per row forward (moments accumulated in f64); the
/// backward recomputes `x̂` and `1/σ` from the kept input and returns, with `g = ∂L/∂y ⊙ γ`,
/// `∂L/∂x = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / σ`, `∂L/∂γ = Σ_rows ∂L/∂y ⊙ x̂`,
/// `∂L/∂β = Σ_rows ∂L/∂y`. Elsewhere the same formula composed from candle ops (candle-nn's
/// fused `ops::layer_norm` has no backward).
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    if fused_applies(x) && gamma.dtype() == DType::F32 && beta.dtype() == DType::F32 {
        let d = x.dim(D::Minus1)?;
        if gamma.dims() != [d] || beta.dims() != [d] {
            return Err(candle_core::Error::Msg(format!(
                "layer_norm: γ {:?} and β {:?} must be ({d},)",
                gamma.dims(),
                beta.dims()
            )));
        }
        return x.contiguous()?.apply_op3(
            &gamma.contiguous()?,
            &beta.contiguous()?,
            LayerNormOp { eps },
        );
    }
    layer_norm_composed(x, gamma, beta, eps)
}

/// [`layer_norm`] from differentiable candle ops (sum, broadcast arithmetic, sqrt), computed in
/// f32 for half-precision input.
pub fn layer_norm_composed(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    let dtype = x.dtype();
    let x = match dtype {
        DType::F16 | DType::BF16 => x.to_dtype(DType::F32)?,
        _ => x.clone(),
    };
    let d = x.dim(D::Minus1)? as f64;
    let mean = (x.sum_keepdim(D::Minus1)? / d)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = (centred.sqr()?.sum_keepdim(D::Minus1)? / d)?;
    let normed = centred.broadcast_div(&(var + eps)?.sqrt()?)?;
    normed
        .to_dtype(dtype)?
        .broadcast_mul(gamma)?
        .broadcast_add(beta)
}

/// `(mean, 1/σ)` of one row, accumulated in f64.
fn moments(row: &[f32], eps: f64) -> (f32, f32) {
    let n = row.len() as f64;
    let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = row
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean as f32, (1.0 / (var + eps).sqrt()) as f32)
}

struct LayerNormOp {
    eps: f64,
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "layer-norm"
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
        let op = "layer-norm";
        let (xs, gamma, beta) = (
            layout_slice::<f32>(s1, l1, op)?,
            layout_slice::<f32>(s2, l2, op)?,
            layout_slice::<f32>(s3, l3, op)?,
        );
        let d = gamma.len();
        let mut out = vec![0f32; xs.len()];
        out.par_chunks_mut(d * ROWS_PER_TASK)
            .zip(xs.par_chunks(d * ROWS_PER_TASK))
            .for_each(|(o, i)| {
                for (o, row) in o.chunks_mut(d).zip(i.chunks(d)) {
                    let (mean, rstd) = moments(row, self.eps);
                    for k in 0..d {
                        o[k] = (row[k] - mean) * rstd * gamma[k] + beta[k];
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let d = gamma.elem_count();
        let op = "layer-norm backward";
        let (dx, dgamma, dbeta) = with_slice::<f32, _>(x, op, |xs| {
            with_slice::<f32, _>(gamma, op, |gamma| {
                with_slice::<f32, _>(&dy, op, |gs| {
                    let mut dx = vec![0f32; xs.len()];
                    let block = d * ROWS_PER_TASK;
                    let (dgamma, dbeta) = dx
                        .par_chunks_mut(block)
                        .zip(xs.par_chunks(block))
                        .zip(gs.par_chunks(block))
                        .map(|((o, xs), gs)| {
                            let mut dgamma = vec![0f32; d];
                            let mut dbeta = vec![0f32; d];
                            let mut xhat = vec![0f32; d];
                            for ((o, row), g) in o.chunks_mut(d).zip(xs.chunks(d)).zip(gs.chunks(d))
                            {
                                let (mean, rstd) = moments(row, self.eps);
                                let (mut mean_g, mut mean_gx) = (0f32, 0f32);
                                for k in 0..d {
                                    xhat[k] = (row[k] - mean) * rstd;
                                    let gk = g[k] * gamma[k];
                                    mean_g += gk;
                                    mean_gx += gk * xhat[k];
                                    dgamma[k] += g[k] * xhat[k];
                                    dbeta[k] += g[k];
                                }
                                mean_g /= d as f32;
                                mean_gx /= d as f32;
                                for k in 0..d {
                                    o[k] = rstd * (g[k] * gamma[k] - mean_g - xhat[k] * mean_gx);
                                }
                            }
                            (dgamma, dbeta)
                        })
                        .reduce(
                            || (vec![0f32; d], vec![0f32; d]),
                            |(mut ag, mut ab), (bg, bb)| {
                                ag.iter_mut().zip(&bg).for_each(|(a, b)| *a += b);
                                ab.iter_mut().zip(&bb).for_each(|(a, b)| *a += b);
                                (ag, ab)
                            },
                        );
                    (dx, dgamma, dbeta)
                })
            })
        })???;
        Ok((
            Some(cpu_tensor(dx, x.dims())?),
            Some(cpu_tensor(dgamma, &[d])?),
            Some(cpu_tensor(dbeta, &[d])?),
        ))
    }
}
