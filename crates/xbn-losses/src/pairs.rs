//! Anchors, references and the positive/negative pair masks every loss works from.

use candle_core::{DType, Tensor};

use crate::{Distance, LossError, Refs, Result};

/// Where the references of a loss call come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefSet {
    /// The references are the anchors themselves (`ℓ(Z, Z)`): pass the anchors and their labels
    /// again as `refs`/`ref_labels`. Self-pairs `(i, i)` are excluded and gradient flows through
    /// both sides of each pair, as PML does when `ref_emb` is not given.
    SameAsAnchors,
    /// A separate reference set (e.g. the memory `M̂`, as PML's `ref_emb`/`ref_labels`). It is
    /// detached: no gradient flows into the references.
    Other,
}

/// One loss call: anchors `A (b × d)` with labels `(b,)`, references `R (m × d)` with labels
/// `(m,)`, and an optional `(b × m)` mask of excluded pairs (non-zero = excluded; used by
/// [`crate::XbmLoss`] to exclude each anchor's own copy in the memory).
#[derive(Debug, Clone, Copy)]
pub struct PairInput<'a> {
    /// Anchors `A (b × d)`, f32 or f64.
    pub anchors: &'a Tensor,
    /// Anchor labels `(b,)`, any integer dtype.
    pub anchor_labels: &'a Tensor,
    /// References `R (m × d)`.
    pub refs: &'a Tensor,
    /// Reference labels `(m,)`.
    pub ref_labels: &'a Tensor,
    /// Whether `R` is `A`.
    pub ref_set: RefSet,
    /// Excluded `(anchor, reference)` pairs, `(b × m)`, any dtype; non-zero means excluded.
    pub exclude: Option<&'a Tensor>,
}

/// The matrix `S (b × m)` and the masks `P` (positives: same label, not excluded, not a
/// self-pair) and `N` (negatives: different label, not excluded), as 0/1 in `S`'s dtype.
#[derive(Debug, Clone)]
pub struct Pairs {
    /// Distance or similarity matrix, differentiable w.r.t. the anchors.
    pub sim: Tensor,
    /// Positive-pair mask `P`.
    pub pos: Tensor,
    /// Negative-pair mask `N`.
    pub neg: Tensor,
    /// True when `sim` is a similarity (larger = closer).
    pub inverted: bool,
}

impl Pairs {
    /// Validates `input` and builds `S`, `P`, `N` with `distance`.
    pub fn new(input: &PairInput<'_>, distance: Distance) -> Result<Self> {
        let (b, m) = validate(input)?;
        let same = input.ref_set == RefSet::SameAsAnchors;
        let refs = if same {
            input.anchors.clone()
        } else {
            input.refs.detach()
        };
        let kind = if same { Refs::Same } else { Refs::Detached };
        let sim = distance.matrix(input.anchors, &refs, kind)?;
        let dtype = sim.dtype();
        let a_lab = input.anchor_labels.to_dtype(DType::I64)?;
        let r_lab = if same {
            a_lab.clone()
        } else {
            input.ref_labels.to_dtype(DType::I64)?
        };
        // Masks are combined as u8 (a quarter of the memory traffic) and converted once.
        let equal = a_lab.unsqueeze(1)?.broadcast_eq(&r_lab.unsqueeze(0)?)?;
        let mut keep: Option<Tensor> = None;
        if same {
            keep = Some(Tensor::eye(b, DType::U8, sim.device())?.eq(0.0)?);
        }
        if let Some(ex) = input.exclude {
            if ex.dims() != [b, m] {
                return Err(LossError::MaskShape {
                    expected: vec![b, m],
                    got: ex.dims().to_vec(),
                });
            }
            let k = ex.eq(0.0)?;
            keep = Some(match keep {
                Some(prev) => prev.mul(&k)?,
                None => k,
            });
        }
        let differ = equal.eq(0.0)?;
        let (pos, neg) = match keep {
            Some(k) => (equal.mul(&k)?, differ.mul(&k)?),
            None => (equal, differ),
        };
        let (pos, neg) = (pos.to_dtype(dtype)?, neg.to_dtype(dtype)?);
        Ok(Pairs {
            sim,
            pos,
            neg,
            inverted: distance.is_inverted(),
        })
    }

    /// Number of positive and negative pairs (one host synchronisation).
    pub fn counts(&self) -> Result<(f64, f64)> {
        let p = self
            .pos
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        let n = self
            .neg
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        Ok((p, n))
    }

    /// PML's `GenericPairLoss` returns a zero loss when there is at most one positive pair
    /// and at most one negative pair; losses built on it reproduce that.
    pub fn pml_too_few_pairs(&self) -> Result<bool> {
        let (p, n) = self.counts()?;
        Ok(p <= 1.0 && n <= 1.0)
    }
}

/// Checks ranks, lengths, dtypes, emptiness and finiteness; returns `(b, m)`.
pub fn validate(input: &PairInput<'_>) -> Result<(usize, usize)> {
    let dims = validate_except_refs_finite(input)?;
    if input.ref_set == RefSet::Other {
        check_finite("refs", input.refs)?;
    }
    Ok(dims)
}

/// [`validate`] without the finiteness check of separate references (for callers that check
/// them in a pass of their own).
pub(crate) fn validate_except_refs_finite(input: &PairInput<'_>) -> Result<(usize, usize)> {
    let (b, d) = check_embeddings("anchors", input.anchors)?;
    check_labels("anchor_labels", input.anchor_labels, b)?;
    let (m, dr) = check_embeddings("refs", input.refs)?;
    check_labels("ref_labels", input.ref_labels, m)?;
    if d != dr {
        return Err(LossError::DimMismatch {
            anchors: input.anchors.dims().to_vec(),
            refs: input.refs.dims().to_vec(),
        });
    }
    if input.ref_set == RefSet::SameAsAnchors && m != b {
        return Err(LossError::NotSameAsAnchors {
            anchors: input.anchors.dims().to_vec(),
            refs: input.refs.dims().to_vec(),
        });
    }
    if input.refs.dtype() != input.anchors.dtype() {
        return Err(LossError::DType {
            what: "refs",
            dtype: input.refs.dtype(),
            expected: "the anchors' dtype",
        });
    }
    check_finite("anchors", input.anchors)?;
    Ok((b, m))
}

/// Checks that `x` is a non-empty f32/f64 `(n × d)` tensor; returns `(n, d)`.
pub fn check_embeddings(what: &'static str, x: &Tensor) -> Result<(usize, usize)> {
    let (n, d) = match x.dims() {
        [n, d] => (*n, *d),
        other => {
            return Err(LossError::WrongRank {
                what,
                expected: 2,
                shape: other.to_vec(),
            });
        }
    };
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        return Err(LossError::DType {
            what,
            dtype: x.dtype(),
            expected: "f32 or f64",
        });
    }
    if n == 0 || d == 0 {
        return Err(LossError::Empty {
            what,
            shape: x.dims().to_vec(),
        });
    }
    Ok((n, d))
}

/// Checks that `labels` is an integer `(rows,)` tensor.
pub fn check_labels(what: &'static str, labels: &Tensor, rows: usize) -> Result<()> {
    let n = match labels.dims() {
        [n] => *n,
        other => {
            return Err(LossError::WrongRank {
                what,
                expected: 1,
                shape: other.to_vec(),
            });
        }
    };
    if !matches!(labels.dtype(), DType::U8 | DType::U32 | DType::I64) {
        return Err(LossError::DType {
            what,
            dtype: labels.dtype(),
            expected: "u8, u32 or i64",
        });
    }
    if n != rows {
        return Err(LossError::LengthMismatch {
            what,
            labels: n,
            rows,
        });
    }
    Ok(())
}

/// Fails with [`LossError::NonFinite`] (first offending row and column) when `x` has NaN/±Inf;
/// does nothing inside [`xbn_core::assume_finite`]. [`xbn_core::check_finite`] does the work
/// (one pass and one scalar read; the scan for the first bad entry only when there is one).
pub fn check_finite(what: &'static str, x: &Tensor) -> Result<()> {
    match xbn_core::check_finite(what, x) {
        Err(xbn_core::XbnError::NonFinite {
            what,
            count,
            row,
            col,
        }) => Err(LossError::NonFinite {
            what,
            count,
            row,
            col,
        }),
        other => Ok(other?),
    }
}
