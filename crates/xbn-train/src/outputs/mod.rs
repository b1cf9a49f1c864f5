//! What a run leaves in `runs/<name>/`: `config.toml`, `metrics.jsonl`, `train.log`, PNG plots,
//! checkpoints and the final test-set embeddings.

pub mod append;
pub mod embeddings;
pub mod log;
pub mod metrics;
pub mod npy;
pub mod plots;
