//! `xbn-train eval`: re-score saved embeddings with xbn-eval (the code training uses).

use crate::cli::{EvalArgs, ProtocolArg};
use crate::error::{Result, TrainError};

/// Evaluates the files named in `args` and returns what to print: the JSON object with
/// `--json`, else a human table.
pub fn run_eval(args: &EvalArgs) -> Result<String> {
    let protocol = match (args.protocol, &args.gallery) {
        (ProtocolArg::Loo, None) => xbn_eval::Protocol::LeaveOneOut,
        (ProtocolArg::QueryGallery, Some(_)) => xbn_eval::Protocol::QueryGallery,
        (ProtocolArg::Loo, Some(_)) => {
            return Err(TrainError::Config(
                "--gallery is only used with --protocol query-gallery".into(),
            ));
        }
        (ProtocolArg::QueryGallery, None) => {
            return Err(TrainError::Config(
                "--protocol query-gallery needs --gallery FILE".into(),
            ));
        }
    };
    if args.k.is_empty() || args.k.contains(&0) {
        return Err(TrainError::Config(format!(
            "--k must be a list of positive integers, got {:?}",
            args.k
        )));
    }
    let options = xbn_eval::EvalOptions {
        device: crate::device::parse_device(&args.device)?,
        ..Default::default()
    };
    let report = xbn_eval::evaluate_files(
        &args.embeddings,
        args.gallery.as_deref(),
        protocol,
        &args.k,
        &options,
    )?;
    Ok(if args.json {
        report.to_json()
    } else {
        report.to_string()
    })
}
