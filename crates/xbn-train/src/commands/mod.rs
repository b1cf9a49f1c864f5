//! The subcommands other than training: `eval`, `data-check`, `embed`.

pub mod data_check;
pub mod embed;
pub mod eval;
