//! The subcommands other than training: `eval`, `data-check`, `embed`, `index`,
//! `search`.

pub mod catalogue;
pub mod catalogue_rows;
pub mod data_check;
pub mod embed;
pub mod embed_inputs;
pub mod eval;
pub mod image_files;
pub mod index;
pub mod nearest;
pub mod report;
pub mod run_model;
pub mod search;
