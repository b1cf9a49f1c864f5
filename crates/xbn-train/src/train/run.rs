//! The training loop: `P × K` batches → backbone → XBM objective → optimizer, with logging,
//! evaluation, the drift diagnostic, checkpoints, resume and fault handling.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Device;

use super::evaluate::{Evaluation, evaluate_model, save_test_embeddings};
use super::progress::Progress;
use super::session::Session;
use super::step::StepOutcome;
use crate::config::TrainConfig;
use crate::error::Result;

/// What a finished (or interrupted) run reports.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The run folder.
    pub dir: PathBuf,
    /// Iterations completed.
    pub iterations: usize,
    /// Evaluation of the untrained model (when `run.eval_untrained` and starting from scratch).
    pub untrained: Option<Evaluation>,
    /// Final evaluation (absent when interrupted).
    pub trained: Option<Evaluation>,
    /// Stopped by Ctrl-C or `run.stop_after` before `run.iterations` (a checkpoint was saved).
    pub interrupted: bool,
}

/// Trains with `cfg` (already resolved, see [`crate::cli::TrainArgs::resolve_config`]);
/// `resume` continues the run folder's last checkpoint. `stop` is raised by Ctrl-C: the loop
/// then saves a checkpoint and returns.
pub fn train(cfg: &TrainConfig, resume: bool, stop: Arc<AtomicBool>) -> Result<TrainOutcome> {
    let device = crate::device::parse_device(&cfg.run.device)?;
    let mut s = Session::open(cfg, resume, &device)?;
    let mut untrained = None;
    if cfg.run.eval_untrained && s.iteration == 0 && !resume {
        let e = s.evaluate()?;
        s.log.line(&format!("untrained model: {}", one_line(&e)))?;
        s.record_eval(0, &e)?;
        write_report(&s, Some(&e.embeddings));
        untrained = Some(e);
    }
    let total = cfg.run.iterations;
    let mut progress = Progress::new(total, s.iteration, cfg.run.progress);
    let mut window = (Instant::now(), 0usize);
    let mut interrupted = false;
    let mut last_eval_at = None;
    while s.iteration < total {
        let paused = cfg.run.stop_after > 0 && s.iteration >= cfg.run.stop_after;
        if paused || stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let t = s.iteration;
        let out: StepOutcome = s.step(t)?;
        s.iteration = t + 1;
        let it = s.iteration;
        window.1 += out.images;
        let mut record = None;
        let mut evaluated = false;
        if it % cfg.run.log_every == 0 || it == total {
            let secs = window.0.elapsed().as_secs_f64().max(1e-9);
            let rec = s.base_record(&out, window.1 as f64 / secs)?;
            progress.message(&format!(
                "loss {:.4}  {:.0} img/s",
                out.total, rec.images_per_s
            ));
            window = (Instant::now(), 0);
            record = Some(rec);
        }
        if cfg.run.measure_drift > 0 && it % cfg.run.measure_drift == 0 {
            if let Some(d) = s.measure_drift(it)? {
                let rec = match &mut record {
                    Some(rec) => rec,
                    None => record.insert(s.base_record(&out, 0.0)?),
                };
                s.log.line(&format!(
                    "iteration {it}: memory drift {:.4} as enqueued, {:.4} after moment matching, {:.4} affine bound{} ({} entries)",
                    d.before,
                    d.after,
                    d.affine.unwrap_or(f64::NAN),
                    d.removed_fraction
                        .map(|f| format!("; {:.0} % of the removable drift removed", 100.0 * f))
                        .unwrap_or_default(),
                    d.sample
                ))?;
                rec.drift = Some(d);
            }
        }
        if cfg.run.eval_every > 0 && it % cfg.run.eval_every == 0 {
            let e = s.evaluate()?;
            s.log.line(&format!("iteration {it}: {}", one_line(&e)))?;
            let rec = match &mut record {
                Some(rec) => rec,
                None => record.insert(s.base_record(&out, 0.0)?),
            };
            rec.eval = Some(e.metrics.clone());
            s.track_best(&e)?;
            last_eval_at = Some((it, e));
            evaluated = true;
        }
        if let Some(rec) = record {
            s.metrics.write(&rec)?;
        }
        if evaluated {
            write_report(&s, last_eval_at.as_ref().map(|(_, e)| &e.embeddings));
        }
        if cfg.run.checkpoint_every > 0 && it % cfg.run.checkpoint_every == 0 {
            s.save_checkpoint()?;
        }
        progress.set(it);
    }
    progress.finish();
    if interrupted {
        s.save_checkpoint()?;
        s.log.line(&format!(
            "stopped at iteration {}; checkpoint saved, resume with --resume {}",
            s.iteration,
            s.dir.display()
        ))?;
        s.draw_plots();
        write_report(&s, last_eval_at.as_ref().map(|(_, e)| &e.embeddings));
        return Ok(TrainOutcome {
            dir: s.dir.clone(),
            iterations: s.iteration,
            untrained,
            trained: None,
            interrupted: true,
        });
    }
    let trained = match last_eval_at {
        Some((it, e)) if it == s.iteration => e,
        _ => {
            let e = s.evaluate()?;
            s.log
                .line(&format!("iteration {}: {}", s.iteration, one_line(&e)))?;
            s.record_eval(s.iteration, &e)?;
            s.track_best(&e)?;
            e
        }
    };
    s.save_checkpoint()?;
    let written = save_test_embeddings(&s.dir, &trained.embeddings)?;
    for p in &written {
        s.log
            .line(&format!("test embeddings written to {}", p.display()))?;
    }
    s.draw_plots();
    write_report(&s, Some(&trained.embeddings));
    s.log.line(&format!(
        "report: {}",
        s.dir.join(crate::report::REPORT_FILE).display()
    ))?;
    Ok(TrainOutcome {
        dir: s.dir.clone(),
        iterations: s.iteration,
        untrained,
        trained: Some(trained),
        interrupted: false,
    })
}

/// Writes the run's `report.html` with the embeddings of the evaluation just made; a failure
/// is logged, not fatal (like the plots).
fn write_report(s: &Session, embeddings: Option<&super::evaluate::TestEmbeddings>) {
    let options = crate::report::ReportOptions::default();
    if let Err(e) = crate::report::write_run_report(&s.dir, &s.cfg, &s.data, embeddings, &options) {
        tracing::warn!("report.html not written: {e}");
    }
}

/// `recall@1 0.123, recall@2 …, map@r …` on one line.
pub fn one_line(e: &Evaluation) -> String {
    let r = &e.report;
    let mut parts: Vec<String> =
        r.ks.iter()
            .zip(&r.recall)
            .map(|(k, v)| format!("Recall@{k} {:.4}", v))
            .collect();
    parts.push(format!("MAP@R {:.4}", r.map_at_r));
    parts.join(", ")
}

/// Evaluates a backbone on the test protocol outside a training run (used by `embed`).
pub fn evaluate_standalone(
    backbone: &dyn xbn_nn::model::Backbone,
    data: &super::data::TrainData,
    cfg: &TrainConfig,
    device: &Device,
) -> Result<Evaluation> {
    let ks = if cfg.eval.k.is_empty() {
        data.standard_ks()
    } else {
        cfg.eval.k.clone()
    };
    evaluate_model(backbone, data, &ks, cfg.eval.batch_size, device)
}
