//! Problem sizes: the (GPU) and a tiny set that checks the code path on a CPU.

use serde::Serialize;

/// Sizes of every benchmark of the suite.
#[derive(Debug, Clone, Serialize)]
pub struct Sizes {
    /// Memory rows `m`.
    pub memory: usize,
    /// Embedding dimension `d`.
    pub dim: usize,
    /// Batch rows `b` of the memory/loss benchmarks.
    pub batch: usize,
    /// Rows `n` of the leave-one-out evaluation.
    pub eval_rows: usize,
    /// Images per class of the evaluation data.
    pub eval_per_class: usize,
    /// Recall@K cut-offs.
    pub ks: Vec<usize>,
    /// Training-step batch sizes.
    pub step_batches: Vec<usize>,
    /// Input side in pixels.
    pub image_size: usize,
    /// ResNet base width (64 = ResNet-50).
    pub base_width: usize,
    /// Images per class in a training batch (P×K sampling, K).
    pub per_class: usize,
}

impl Sizes {
    /// The sizes: m = 65,536, d = 512, b = 128; 60,000 × 512 evaluation;
    /// ResNet-50 at 224×224 with batches 64 and 128.
    pub fn full() -> Self {
        Self {
            memory: 65_536,
            dim: 512,
            batch: 128,
            eval_rows: 60_000,
            eval_per_class: 5,
            ks: vec![1, 10, 100, 1000],
            step_batches: vec![64, 128],
            image_size: 224,
            base_width: 64,
            per_class: 4,
        }
    }

    /// Tiny sizes for a CPU smoke run (seconds).
    pub fn small() -> Self {
        Self {
            memory: 1024,
            dim: 64,
            batch: 32,
            eval_rows: 2000,
            eval_per_class: 5,
            ks: vec![1, 10, 100, 1000],
            step_batches: vec![4, 8],
            image_size: 32,
            base_width: 8,
            per_class: 2,
        }
    }

    /// `m=…,d=…,b=…` for the memory and loss benchmarks.
    pub fn memory_params(&self) -> String {
        format!("m={},d={},b={}", self.memory, self.dim, self.batch)
    }
}

/// Labels `0,0,…,1,1,…` with `per_class` rows per class, as `i64`.
pub fn grouped_labels(rows: usize, per_class: usize) -> Vec<i64> {
    (0..rows).map(|i| (i / per_class.max(1)) as i64).collect()
}
