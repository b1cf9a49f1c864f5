//! `xbn-train data-check`: xbn-data's dataset report as JSON on stdout.

use crate::cli::DataCheckArgs;
use crate::error::{Result, TrainError};

/// Checks the dataset and returns the report as pretty-printed JSON, plus whether it is
/// free of problems.
pub fn run_data_check(args: &DataCheckArgs) -> Result<(String, bool)> {
    let kind: xbn_data::DatasetKind = args.dataset.parse()?;
    let report = xbn_data::check_dataset(kind, &args.root, &xbn_data::LoadOptions::default())?;
    let json = serde_json::to_string_pretty(&report).map_err(|source| TrainError::Json {
        what: format!("data-check report of {}", args.root.display()),
        source,
    })?;
    Ok((json, report.ok))
}
