//! Fused CPU kernel of [`crate::XbmContrastiveLoss`]: per-anchor terms and `∂ℓ_i/∂S` in one
//! pass over `S`, instead of about ten `(b × m)` elementwise passes of op-by-op autograd.

use candle_core::{
    CpuStorage, CustomOp1, DType, Device, Layout, Shape, Storage, Tensor, WithDType,
};
use rayon::prelude::*;

use crate::Result;
use crate::snap::{snap_tolerance, snap_value};

/// Labels, exclusions and margin of one loss call, on the host.
pub(crate) struct PairRule {
    /// Anchor labels `(b,)`.
    pub anchor_labels: Vec<i64>,
    /// Reference labels `(m,)`.
    pub ref_labels: Vec<i64>,
    /// `(b × m)` row-major, non-zero = excluded pair.
    pub exclude: Option<Vec<u8>>,
    /// Exclude self-pairs `(i, i)` (references are the anchors).
    pub same: bool,
    /// Negative margin `λ`.
    pub lambda: f64,
    /// Column scales `c_j = 1 / max(‖r_j‖, 1e-12)` when the op's input is `Â Rᵀ` with
    /// unnormalized references: then `S_ij = (Â Rᵀ)_ij · c_j` and `∂S_ij/∂(Â Rᵀ)_ij = c_j`.
    pub col_scale: Option<Vec<f64>>,
}

impl PairRule {
    /// `+1` for a positive pair, `−1` for a negative, `0` for an excluded one.
    #[inline]
    fn kind(&self, i: usize, j: usize, m: usize) -> i8 {
        if (self.same && i == j) || self.exclude.as_ref().is_some_and(|e| e[i * m + j] != 0) {
            0
        } else if self.anchor_labels[i] == self.ref_labels[j] {
            1
        } else {
            -1
        }
    }

    /// `S_ij` from the op's input entry `p`, rounded to `T` as the tensor path does, snapped to
    /// ±1 within `8 ε` as [`crate::Distance::Cosine`] does; and whether it was snapped (then its
    /// gradient is 0).
    #[inline]
    fn sim<T: WithDType>(&self, j: usize, p: T) -> (f64, bool) {
        let s = match &self.col_scale {
            Some(c) => T::from_f64(p.to_f64() * c[j]).to_f64(),
            None => p.to_f64(),
        };
        snap_value(s, snap_tolerance(T::DTYPE))
    }

    /// `ℓ_i = Σ_{j∈P_i} [1 − S_ij]₊ + Σ_{j∈N_i, S_ij>λ} S_ij`, accumulated in f64.
    fn row_loss<T: WithDType>(&self, i: usize, row: &[T]) -> f64 {
        let m = row.len();
        let thr = T::from_f64(self.lambda).to_f64();
        let mut acc = 0.0;
        for (j, p) in row.iter().enumerate() {
            let (s, _) = self.sim(j, *p);
            match self.kind(i, j, m) {
                1 => acc += (1.0 - s).max(0.0),
                -1 if s > thr => acc += s,
                _ => {}
            }
        }
        acc
    }

    /// `g · ∂ℓ_i/∂S_ij`: `−g` for positives with `S_ij ≤ 1` (relu's gradient at 0 is 1, as in
    /// candle), `g` for negatives with `S_ij > λ`, 0 otherwise and where `S_ij` was snapped.
    fn row_grad<T: WithDType>(&self, i: usize, row: &[T], g: T, out: &mut [T]) {
        let m = row.len();
        let thr = T::from_f64(self.lambda).to_f64();
        for (j, (p, o)) in row.iter().zip(out.iter_mut()).enumerate() {
            let (s, snapped) = self.sim(j, *p);
            let d = match self.kind(i, j, m) {
                _ if snapped => T::zero(),
                1 if s <= 1.0 => T::zero() - g,
                -1 if s > thr => g,
                _ => T::zero(),
            };
            *o = match &self.col_scale {
                Some(c) => T::from_f64(d.to_f64() * c[j]),
                None => d,
            };
        }
    }
}

/// `1 / max(‖r_j‖₂, 1e-12)` for every row of `refs (m × d)` (CPU, f32/f64; one read pass) and
/// whether every norm is finite.
pub(crate) fn inv_row_norms(refs: &Tensor) -> Result<(Vec<f64>, bool)> {
    fn row_norms<T: WithDType>(v: &[T], d: usize) -> Vec<f64> {
        v.par_chunks(d)
            .map(|r| {
                r.iter()
                    .map(|x| x.to_f64() * x.to_f64())
                    .sum::<f64>()
                    .sqrt()
            })
            .collect()
    }
    let refs = refs.contiguous()?;
    let (_, d) = refs.dims2()?;
    let (guard, layout) = refs.storage_and_layout();
    let (_, _, start, end) = dims(layout)?;
    let norms = match &*guard {
        Storage::Cpu(CpuStorage::F32(v)) => row_norms(&v[start..end], d),
        Storage::Cpu(CpuStorage::F64(v)) => row_norms(&v[start..end], d),
        _ => return Err(bad("references must be f32 or f64 on the CPU").into()),
    };
    // NaN/±Inf in a row make its norm NaN/+Inf (as does overflow of finite entries).
    let finite = norms.iter().all(|n| n.is_finite());
    let inv = norms.into_iter().map(|n| 1.0 / n.max(NORM_EPS)).collect();
    Ok((inv, finite))
}

/// Norms below this are clamped, as in [`xbn_core::l2_normalize_rows`].
const NORM_EPS: f64 = xbn_core::NORM_FLOOR;

/// Per-anchor terms `ℓ_i (b,)` of the XBM contrastive loss from `sim (b × m)` (CPU, f32/f64),
/// differentiable in `sim`.
pub(crate) fn fused_per_anchor(sim: &Tensor, rule: PairRule) -> Result<Tensor> {
    Ok(sim.contiguous()?.apply_op1(FusedContrastive { rule })?)
}

struct FusedContrastive {
    rule: PairRule,
}

fn bad(msg: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("xbm-contrastive-fused: {msg}"))
}

fn dims(layout: &Layout) -> candle_core::Result<(usize, usize, usize, usize)> {
    let (b, m) = layout.shape().dims2()?;
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| bad("non-contiguous similarity matrix"))?;
    Ok((b, m, start, end))
}

impl FusedContrastive {
    fn forward<T: WithDType>(&self, s: &[T], m: usize) -> Vec<T> {
        s.par_chunks(m)
            .enumerate()
            .map(|(i, row)| T::from_f64(self.rule.row_loss(i, row)))
            .collect()
    }

    fn backward<T: WithDType>(&self, s: &[T], m: usize, g: &[T]) -> Vec<T> {
        let mut out = vec![T::zero(); s.len()];
        out.par_chunks_mut(m)
            .zip(s.par_chunks(m))
            .enumerate()
            .for_each(|(i, (o, row))| self.rule.row_grad(i, row, g[i], o));
        out
    }
}

impl CustomOp1 for FusedContrastive {
    fn name(&self) -> &'static str {
        "xbm-contrastive-fused"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, m, start, end) = dims(layout)?;
        let out = match storage {
            CpuStorage::F32(v) => CpuStorage::F32(self.forward(&v[start..end], m)),
            CpuStorage::F64(v) => CpuStorage::F64(self.forward(&v[start..end], m)),
            _ => return Err(bad("similarities must be f32 or f64")),
        };
        Ok((out, Shape::from(b)))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (b, m) = arg.dims2()?;
        let (guard, layout) = arg.storage_and_layout();
        let (_, _, start, end) = dims(layout)?;
        let dev = Device::Cpu;
        let grad = match (&*guard, arg.dtype()) {
            (Storage::Cpu(CpuStorage::F32(v)), DType::F32) => {
                let g = grad_res.to_vec1::<f32>()?;
                Tensor::from_vec(self.backward(&v[start..end], m, &g), (b, m), &dev)?
            }
            (Storage::Cpu(CpuStorage::F64(v)), DType::F64) => {
                let g = grad_res.to_vec1::<f64>()?;
                Tensor::from_vec(self.backward(&v[start..end], m, &g), (b, m), &dev)?
            }
            _ => return Err(bad("similarities must be f32 or f64 on the CPU")),
        };
        Ok(Some(grad))
    }
}
