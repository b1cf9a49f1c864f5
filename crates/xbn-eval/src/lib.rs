//! # xbn-eval
//!
//! Exact retrieval evaluation at the scale of Stanford Online Products (60,502 test images)
//! without ever holding the `n × n` similarity matrix: blocked k-nearest-neighbour search on
//! any candle device, bounded by a memory budget, and the metrics of the deep metric learning
//! literature computed exactly as pytorch-metric-learning (PML) and faiss compute them:
//!
//! * Recall@K (XBM/SOP sense): fraction of queries with at least one relevant item among
//!   their K nearest neighbours;
//! * precision@1, R-precision and MAP@R (Musgrave et al., *A Metric Learning Reality Check*):
//!   with `R_q` the number of references sharing the query's label and `c_i` the relevance of
//!   the `i`-th neighbour, `RP = (1/R_q) Σ_{i≤R_q} c_i` and
//!   `MAP@R = (1/R_q) Σ_{i≤R_q} c_i · P@i`, `P@i = (1/i) Σ_{j≤i} c_j`.
//!
//! Protocols: [`Protocol::LeaveOneOut`] (each query's own row excluded) and
//! [`Protocol::QueryGallery`]. Queries with `R_q = 0` are excluded and counted, as in PML.
//! Ties are broken by the lower reference index. See `docs/evaluation.md`.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use xbn_eval::{evaluate, EvalOptions, Protocol};
//! let q = Tensor::new(&[[1f32, 0.], [0., 1.]], &Device::Cpu)?;
//! let g = Tensor::new(&[[0.1f32, 1.], [1., 0.05], [1., -0.1]], &Device::Cpu)?;
//! let (ql, gl) = (Tensor::new(&[3i64, 4], &Device::Cpu)?, Tensor::new(&[4i64, 9, 3], &Device::Cpu)?);
//! let report = evaluate(&q, &ql, Some((&g, &gl)), Protocol::QueryGallery, &[1, 2], &EvalOptions::default())?;
//! // query 0's nearest gallery item is row 1 (label 9), then row 2 (label 3).
//! assert_eq!(report.recall, vec![0.5, 1.0]);
//! println!("{report}\n{}", report.to_json());
//! # Ok::<(), xbn_eval::EvalError>(())
//! ```

mod error;
mod evaluate;
mod io;
mod knn;
mod metrics;
mod npy;
mod plan;
mod prepare;
mod protocol;
mod report;
mod symmetric;
mod topk;

pub use error::{EvalError, Result};
pub use evaluate::{DEFAULT_MEMORY_BUDGET, EvalOptions, evaluate, evaluate_files};
pub use io::{EmbeddingSet, load_embeddings, npy_labels_path};
pub use knn::{Neighbours, knn};
pub use npy::{MAX_NPY_HEADER, read_npy};
pub use plan::BlockPlan;
pub use protocol::{Metric, Protocol};
pub use report::EvalReport;
