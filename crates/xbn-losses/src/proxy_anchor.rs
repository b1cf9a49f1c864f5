//! PML's `ProxyAnchorLoss` (Kim et al., CVPR 2020) with learnable proxies.

use candle_core::{DType, Device, Tensor, Var};

use crate::ops::masked_logsumexp;
use crate::pairs::{check_embeddings, check_finite, check_labels};
use crate::reduction::host_f64;
use crate::{Distance, LossError, MetricLoss, PairInput, RefSet, Refs, Result};

/// Proxy-anchor loss. One learnable proxy `p_c` per class; with `s_ic = cos(a_i, p_c)`,
/// `P_c` the anchors of class `c`, `N_c` the others, and `C⁺` the classes present in the batch:
///
/// `ℓ = (1/|C⁺|) Σ_{c ∈ C⁺} log(1 + Σ_{i ∈ P_c} e^{−α (s_ic − δ)}) + (1/C) Σ_c log(1 + Σ_{i ∈ N_c} e^{α (s_ic + δ)})`
///
/// Defaults equal PML's `ProxyAnchorLoss(num_classes, embedding_size)`: margin `δ = 0.1`,
/// `α = 32`, cosine similarity, PML's `DivisorReducer` reduction (the two divisors above;
/// fixed). Proxies are initialised as PML's (`kaiming_normal_(mode="fan_out")`: normal with
/// standard deviation `sqrt(2 / num_classes)`). The loss compares anchors with the proxies, not
/// with a reference set: [`RefSet::Other`] is an error and [`crate::XbmLoss`] skips its memory term.
#[derive(Debug, Clone)]
pub struct ProxyAnchorLoss {
    /// The `(C × d)` proxies, learnable.
    pub proxies: Var,
    /// Margin `δ`.
    pub margin: f64,
    /// Scale `α`.
    pub alpha: f64,
    /// Distance between anchors and proxies.
    pub distance: Distance,
}

impl ProxyAnchorLoss {
    /// `num_classes` proxies of dimension `embedding_size`, drawn as PML draws them (seed the
    /// device for reproducibility).
    pub fn new(
        num_classes: usize,
        embedding_size: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        if num_classes == 0 || embedding_size == 0 {
            return Err(LossError::InvalidConfig(format!(
                "proxy-anchor needs num_classes > 0 and embedding_size > 0, got {num_classes} and {embedding_size}"
            )));
        }
        let std = (2.0 / num_classes as f64).sqrt();
        let init =
            Tensor::randn(0.0, std, (num_classes, embedding_size), device)?.to_dtype(dtype)?;
        Self::with_proxies(init)
    }

    /// Uses the given `(C × d)` proxies (e.g. loaded from a checkpoint).
    pub fn with_proxies(proxies: Tensor) -> Result<Self> {
        check_embeddings("proxies", &proxies)?;
        check_finite("proxies", &proxies)?;
        Ok(Self {
            proxies: Var::from_tensor(&proxies)?,
            margin: 0.1,
            alpha: 32.0,
            distance: Distance::Cosine,
        })
    }

    /// Number of classes `C`.
    pub fn num_classes(&self) -> usize {
        self.proxies.dims()[0]
    }
}

impl MetricLoss for ProxyAnchorLoss {
    fn name(&self) -> &'static str {
        "proxy_anchor"
    }

    fn loss(&self, input: &PairInput<'_>) -> Result<Tensor> {
        if input.ref_set == RefSet::Other {
            return Err(LossError::RefsNotSupported {
                loss: "proxy-anchor",
            });
        }
        let a = input.anchors;
        let (b, d) = check_embeddings("anchors", a)?;
        check_labels("anchor_labels", input.anchor_labels, b)?;
        check_finite("anchors", a)?;
        let proxies = self.proxies.as_tensor();
        let c = self.num_classes();
        if proxies.dims()[1] != d {
            return Err(LossError::DimMismatch {
                anchors: a.dims().to_vec(),
                refs: proxies.dims().to_vec(),
            });
        }
        let labels = input.anchor_labels.to_dtype(DType::I64)?;
        let lv = labels.to_vec1::<i64>()?;
        if let Some((row, &label)) = lv
            .iter()
            .enumerate()
            .find(|(_, l)| **l < 0 || **l >= c as i64)
        {
            return Err(LossError::LabelOutOfRange {
                label,
                row,
                num_classes: c,
            });
        }
        let proxies = proxies.to_dtype(a.dtype())?;
        let s = self.distance.matrix(a, &proxies, Refs::Tracked)?.t()?; // (C × b)
        let classes = Tensor::arange(0i64, c as i64, a.device())?.unsqueeze(1)?;
        let pos = classes
            .broadcast_eq(&labels.unsqueeze(0)?)?
            .to_dtype(s.dtype())?;
        let neg = pos.affine(-1.0, 1.0)?;
        let (al, mg) = (self.alpha, self.margin);
        // PML: pos exponent α·margin(s, δ), neg exponent α·margin(−δ, s).
        let (pos_x, neg_x) = if self.distance.is_inverted() {
            (s.affine(-al, al * mg)?, s.affine(al, al * mg)?)
        } else {
            (s.affine(al, -al * mg)?, s.affine(-al, -al * mg)?)
        };
        let pos_term = masked_logsumexp(&pos_x, &pos, true)?;
        let neg_term = masked_logsumexp(&neg_x, &neg, true)?;
        let with_pos = host_f64(&pos.max_keepdim(1)?.sum_all()?)?;
        let pos_loss = if with_pos > 0.0 {
            pos_term.sum_all()?.affine(1.0 / with_pos, 0.0)?
        } else {
            pos_term.sum_all()?.affine(0.0, 0.0)?
        };
        let neg_loss = neg_term.sum_all()?.affine(1.0 / c as f64, 0.0)?;
        Ok(pos_loss.add(&neg_loss)?)
    }

    fn parameters(&self) -> Vec<Var> {
        vec![self.proxies.clone()]
    }

    fn uses_references(&self) -> bool {
        false
    }
}
