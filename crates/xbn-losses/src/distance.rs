//! Distances between anchors and references, as pytorch-metric-learning's `distances`.

use candle_core::{DType, Tensor};

use crate::Result;
use crate::const_matmul::matmul_const_refs;
use crate::snap::snap_unit;

/// What the references of [`Distance::matrix`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refs {
    /// The anchors themselves.
    Same,
    /// A constant: no gradient flows into it.
    Detached,
    /// A tensor that receives gradient (e.g. learnable proxies).
    Tracked,
}

/// How anchors are compared with references; the result is the `(b × m)` matrix `S`.
///
/// - [`Distance::Cosine`] (default, PML `CosineSimilarity`): rows are L2-normalized,
///   `S = Â R̂ᵀ`, `S_ij = ⟨a_i, r_j⟩ / (‖a_i‖ ‖r_j‖)`. A *similarity*: larger is closer
///   (PML calls this an "inverted" distance). Entries within `8 ε_dtype` of ±1 (duplicates,
///   whose normalize + matmul gives `1 − 1.2e-7` in f32) are exactly ±1 with zero gradient.
/// - [`Distance::Euclidean`] (PML `LpDistance(p=2, normalize_embeddings=normalize)`):
///   `S_ij = ‖â_i − r̂_j‖₂`, with rows L2-normalized first when `normalize` (PML's default).
///   Computed as `sqrt(‖a‖² + ‖r‖² − 2 a·r)` from one matmul; pairs whose squared distance is
///   within that expansion's rounding error count as distance 0 with zero gradient, as
///   `torch.cdist` gives at distance 0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Distance {
    /// Cosine similarity on L2-normalized rows.
    #[default]
    Cosine,
    /// Euclidean (L2) distance, optionally on L2-normalized rows.
    Euclidean {
        /// L2-normalize rows before measuring (PML's default `normalize_embeddings=True`).
        normalize: bool,
    },
}

/// Squared distances at or below `ROUNDING_FACTOR · ε_dtype · (‖a‖² + ‖r‖²)` (the rounding
/// error of the expansion) get distance 0 and zero gradient, as `torch.cdist` at distance 0.
const ROUNDING_FACTOR: f64 = 8.0;

impl Distance {
    /// PML's `LpDistance()` default: Euclidean on normalized rows.
    pub fn euclidean() -> Self {
        Distance::Euclidean { normalize: true }
    }

    /// True for similarities (larger = closer), false for distances (smaller = closer).
    pub fn is_inverted(&self) -> bool {
        matches!(self, Distance::Cosine)
    }

    /// The `(b × m)` matrix between `anchors (b × d)` and `refs (m × d)`. `refs` is either the
    /// anchors themselves ([`Refs::Same`]: one normalization, gradient through both sides), a
    /// constant ([`Refs::Detached`]: no gradient, and none computed), or a tensor that
    /// receives gradient ([`Refs::Tracked`], e.g. proxies).
    pub fn matrix(&self, anchors: &Tensor, refs: &Tensor, kind: Refs) -> Result<Tensor> {
        let same = kind == Refs::Same;
        let product = |a: &Tensor, r: &Tensor| -> Result<Tensor> {
            match kind {
                Refs::Detached => matmul_const_refs(a, r),
                _ => Ok(a.matmul(&r.t()?)?),
            }
        };
        match self {
            Distance::Cosine => {
                let a = xbn_core::l2_normalize_rows(anchors)?;
                let r = if same {
                    a.clone()
                } else {
                    xbn_core::l2_normalize_rows(refs)?
                };
                // Duplicates give 1 − ε-ish after normalize + matmul: within 8 ε of ±1 → ±1.
                snap_unit(&product(&a, &r)?)
            }
            Distance::Euclidean { normalize } => {
                let (a, r) = if *normalize {
                    let a = xbn_core::l2_normalize_rows(anchors)?;
                    let r = if same {
                        a.clone()
                    } else {
                        xbn_core::l2_normalize_rows(refs)?
                    };
                    (a, r)
                } else {
                    (anchors.clone(), refs.clone())
                };
                let a2 = a.sqr()?.sum_keepdim(1)?;
                let r2 = r.sqr()?.sum_keepdim(1)?.t()?;
                let norms = a2.broadcast_add(&r2)?;
                let sq = product(&a, &r)?.affine(-2.0, 0.0)?.add(&norms)?;
                // ‖a‖² + ‖r‖² − 2a·r cancels for (near-)duplicates: squared distances within
                // the rounding error of that sum count as 0 (distance 0, gradient 0).
                let eps = match sq.dtype() {
                    DType::F64 => f64::EPSILON,
                    _ => f32::EPSILON as f64,
                };
                let threshold = norms.affine(ROUNDING_FACTOR * eps, 0.0)?;
                let positive = sq.gt(&threshold)?;
                let ones = Tensor::ones_like(&sq)?;
                let safe = positive.where_cond(&sq, &ones)?.sqrt()?;
                Ok(positive.where_cond(&safe, &Tensor::zeros_like(&sq)?)?)
            }
        }
    }
}
