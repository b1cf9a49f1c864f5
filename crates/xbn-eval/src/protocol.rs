//! Retrieval protocols and similarity measures, parseable from their command-line names.

use std::fmt;
use std::str::FromStr;

use crate::EvalError;

/// Which items are searched for each query.
///
/// * [`Protocol::LeaveOneOut`] (`"loo"`): the references are the queries themselves; each
///   query's own row is excluded from its neighbours (SOP, CUB-200, Cars-196). Other rows that
///   happen to be identical to it are kept.
/// * [`Protocol::QueryGallery`] (`"query-gallery"`): a separate gallery is searched
///   (In-Shop, DeepFashion2).
///
/// ```
/// use xbn_eval::Protocol;
/// assert_eq!("loo".parse::<Protocol>().unwrap(), Protocol::LeaveOneOut);
/// assert_eq!("query-gallery".parse::<Protocol>().unwrap(), Protocol::QueryGallery);
/// assert!("both".parse::<Protocol>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Query set = reference set, own row excluded.
    LeaveOneOut,
    /// Queries searched in a separate gallery.
    QueryGallery,
}

impl FromStr for Protocol {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self, EvalError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "loo" | "leave-one-out" => Ok(Self::LeaveOneOut),
            "query-gallery" | "qg" => Ok(Self::QueryGallery),
            other => Err(EvalError::Protocol(format!(
                "unknown protocol `{other}` (expected `loo` or `query-gallery`)"
            ))),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LeaveOneOut => "loo",
            Self::QueryGallery => "query-gallery",
        })
    }
}

/// How neighbours are ranked.
///
/// * [`Metric::Cosine`] (`"cosine"`): by `s(q, r) = q·r / (‖q‖ ‖r‖)`, largest first. Rows are
///   L2-normalised once, so an all-zero row is an error.
/// * [`Metric::Euclidean`] (`"euclidean"`): by `‖q − r‖₂`, smallest first; ranked internally by
///   the equivalent score `q·r − ‖r‖²/2` (the `‖q‖²` term is constant per query).
///
/// ```
/// use xbn_eval::Metric;
/// assert_eq!("cosine".parse::<Metric>().unwrap(), Metric::Cosine);
/// assert_eq!("l2".parse::<Metric>().unwrap(), Metric::Euclidean);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    /// Cosine similarity.
    #[default]
    Cosine,
    /// Euclidean (L2) distance.
    Euclidean,
}

impl FromStr for Metric {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Self, EvalError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cosine" | "cos" => Ok(Self::Cosine),
            "euclidean" | "l2" => Ok(Self::Euclidean),
            other => Err(EvalError::Protocol(format!(
                "unknown metric `{other}` (expected `cosine` or `euclidean`)"
            ))),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cosine => "cosine",
            Self::Euclidean => "euclidean",
        })
    }
}
