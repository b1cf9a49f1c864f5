//! One training iteration, the memory warm start and the drift diagnostic.

use std::collections::BTreeMap;

use super::batches::InputBatch;
use candle_core::{DType, Tensor};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use super::drift::{drift_diagnostic, sample_positions};
use super::evaluate::embed_items;
use super::network::{load_model_state, model_state};
use super::seeds::{Purpose, derive};
use super::session::Session;
use crate::error::{Result, TrainError};
use crate::outputs::metrics::{DriftRecord, MetricsRecord};

/// What one iteration produced. Only `L_t` is read back to the host every iteration (to stop on
/// a non-finite loss); the other terms stay tensors until an iteration is logged.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// Images (or texts) in the batch.
    pub images: usize,
    /// `L_t`.
    pub total: f64,
    /// `ℓ(Z, Z)`, a scalar tensor.
    pub batch: Tensor,
    /// `w·ℓ(Z, M̂)`, a scalar tensor, when the memory term is on.
    pub memory: Option<Tensor>,
    /// Backbone learning rate used.
    pub lr_backbone: f64,
    /// Head learning rate used.
    pub lr_head: f64,
}

impl Session {
    /// Runs iteration `t` (0-based): sample, forward, loss, backward, update.
    pub fn step(&mut self, t: usize) -> Result<StepOutcome> {
        if self.cfg.memory.warm_start && self.cfg.memory.size > 0 && t == self.cfg.memory.t_start {
            self.warm_start(t)?;
        }
        let batch = self.next_batch(t)?;
        let (indices, augmentation_seeds) = (batch.indices, batch.augmentation_seeds);
        let labels = self.data.labels_of(&indices);
        let z = self.backbone.forward(&batch.input, true)?;
        // The one finiteness check of the step: the libraries' own checks (one host read each)
        // are off, and a single scalar, L_t + Σ 0·Z (NaN if any embedding or the loss is not
        // finite, else exactly L_t), is read back.
        let terms = xbn_core::assume_finite(|| {
            self.objective
                .step(&z, &labels, &indices, t, &augmentation_seeds)
        })?;
        let probe = (terms.total.detach() + z.detach().affine(0.0, 0.0)?.sum_all()?)?;
        let total = probe.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if !total.is_finite() {
            return Err(self.non_finite(t, total));
        }
        let (lr_backbone, lr_head) = self.optim.learning_rates(t);
        let mut grads = terms.total.backward()?;
        self.optim.step(&mut grads, t)?;
        Ok(StepOutcome {
            images: indices.len(),
            total,
            batch: terms.batch,
            memory: terms.memory,
            lr_backbone,
            lr_head,
        })
    }

    /// Batch `t` from the prefetching loader, which the first call starts at `t` (0, or the
    /// iteration a run resumes at) over the `P × K` sampler.
    fn next_batch(&mut self, t: usize) -> Result<InputBatch> {
        if self.loader.is_none() {
            let sampler = self.sampler.take().ok_or(TrainError::LoaderOutOfStep {
                iteration: t,
                delivered: None,
            })?;
            let seed = derive(self.cfg.run.seed, Purpose::Augmentation, 0);
            self.loader = Some(self.data.train_loader(sampler, seed, t, &self.device)?);
        }
        let batch = self.loader.as_mut().and_then(Iterator::next).ok_or(
            TrainError::LoaderOutOfStep {
                iteration: t,
                delivered: None,
            },
        )??;
        if batch.number != t {
            return Err(TrainError::LoaderOutOfStep {
                iteration: t,
                delivered: Some(batch.number),
            });
        }
        Ok(batch)
    }

    fn non_finite(&self, t: usize, value: f64) -> TrainError {
        TrainError::NonFiniteLoss {
            iteration: t + 1,
            value,
            last_checkpoint: self.last_checkpoint_text(),
        }
    }

    /// XBM's warm start: fill the memory with embeddings of `memory.size` random training
    /// images computed by the current model.
    fn warm_start(&mut self, t: usize) -> Result<()> {
        let train = self.data.train_indices();
        let n = self.cfg.memory.size.min(train.len());
        let mut rng = ChaCha8Rng::seed_from_u64(derive(self.cfg.run.seed, Purpose::WarmStart, t));
        let chosen: Vec<usize> = sample(&mut rng, train.len(), n)
            .into_iter()
            .map(|i| train[i])
            .collect();
        let set = embed_items(
            self.backbone.as_ref(),
            &self.data,
            &chosen,
            self.cfg.eval.batch_size,
            &self.device,
        )?;
        self.objective.fill(&set.embeddings, &set.labels, &chosen)?;
        self.log.line(&format!(
            "iteration {t}: memory warm start with {n} training images"
        ))
    }

    /// The metrics line of the current iteration (reads the loss terms and the moments' shift
    /// back from the device).
    pub fn base_record(&self, out: &StepOutcome, images_per_s: f64) -> Result<MetricsRecord> {
        let scalar =
            |t: &Tensor| -> Result<f64> { Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?) };
        let mut loss = BTreeMap::new();
        loss.insert("total".to_string(), out.total);
        loss.insert("batch".to_string(), scalar(&out.batch)?);
        if let Some(m) = &out.memory {
            loss.insert("memory".to_string(), scalar(m)?);
        }
        Ok(MetricsRecord {
            iteration: self.iteration,
            loss,
            lr_backbone: out.lr_backbone,
            lr_head: out.lr_head,
            images_per_s,
            memory_fill: self.objective.memory_fill(),
            moments_shift: self.objective.last_shift(),
            drift: None,
            eval: None,
        })
    }

    /// The drift diagnostic at iteration `it` (see [`super::drift`]): `None` while the memory
    /// is empty.
    pub fn measure_drift(&mut self, it: usize) -> Result<Option<DriftRecord>> {
        let Some(memory) = self.objective.memory().filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        let positions = sample_positions(
            memory.len(),
            self.cfg.run.drift_sample,
            derive(self.cfg.run.seed, Purpose::Drift, it),
        );
        let entries = memory.entries(&positions)?;
        let (Some(stored), Some(indices), Some(seeds)) = (
            entries.as_enqueued,
            entries.dataset_indices,
            entries.augmentation_seeds,
        ) else {
            // The memory keeps provenance only when the diagnostic is on.
            return Ok(None);
        };
        let adapted = entries.adapted;
        // The diagnostic's host reads of bookkeeping: which views to render again, and ages.
        let indices = indices.to_vec1::<i64>()?;
        let seeds = seeds.to_vec1::<i64>()?;
        let views: Vec<(usize, u64)> = indices
            .iter()
            .zip(&seeds)
            .map(|(&i, &s)| (i as usize, s as u64))
            .collect();
        // Entries enqueued at iteration t are 0 iterations old at the end of step t = it − 1.
        let now = it.saturating_sub(1) as i64;
        let ages: Vec<u64> = entries
            .iterations
            .to_vec1::<i64>()?
            .into_iter()
            .map(|t| (now - t).max(0) as u64)
            .collect();
        // Fresh embeddings of the same views, as training computes them (BatchNorm with batch
        // statistics, in batches of the training size); the running statistics are restored.
        let saved = model_state(self.backbone.as_ref())
            .into_iter()
            .map(|(k, t)| Ok((k, t.copy()?)))
            .collect::<Result<std::collections::HashMap<_, _>>>()?;
        let input = self.data.render_views(&views, &self.device)?;
        let batch = self.cfg.batch_size().max(2);
        let mut parts = Vec::new();
        for start in (0..views.len()).step_by(batch) {
            let chunk = input.narrow(start, batch.min(views.len() - start))?;
            let train_mode = chunk.rows()? > 1;
            // Batch statistics as in training, but no autograd graph (inference mode).
            let z = xbn_nn::model::inference_mode(|| self.backbone.forward(&chunk, train_mode))?;
            parts.push(z);
        }
        load_model_state(self.backbone.as_ref(), &saved)?;
        let fresh = candle_core::Tensor::cat(&parts, 0)?;
        Ok(Some(drift_diagnostic(&stored, &adapted, &fresh, &ages)?))
    }
}
