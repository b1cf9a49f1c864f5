//! The tables of [`TrainConfig`](super::TrainConfig). Defaults are those of the default run
//! (`cargo run -p xbn-train --release`): small CNN, synthetic dataset, adaptive XBN.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
pub use xbn_data::SmallClassPolicy;

/// `[run]`: naming, seed, device and cadence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Run name; outputs go to `<output_dir>/<name>/`.
    pub name: String,
    /// Parent folder of the run folders.
    pub output_dir: PathBuf,
    /// Seed of every random choice (weights, sampling, augmentation, warm start).
    pub seed: u64,
    /// `cpu`, `cuda`, `cuda:N` or `metal`.
    pub device: String,
    /// Total number of training iterations.
    pub iterations: usize,
    /// Write a `metrics.jsonl` line every this many iterations.
    pub log_every: usize,
    /// Evaluate on the test protocol every this many iterations (0: only at the end).
    pub eval_every: usize,
    /// Save a checkpoint every this many iterations (0: only at the end).
    pub checkpoint_every: usize,
    /// Measure memory drift every this many iterations (0: off).
    pub measure_drift: usize,
    /// Number of memory entries re-embedded by the drift diagnostic.
    pub drift_sample: usize,
    /// Also evaluate the untrained model before training (the default run prints both).
    pub eval_untrained: bool,
    /// Draw progress bars on a terminal.
    pub progress: bool,
    /// Pause after this many iterations (checkpoint saved; continue with `--resume` and
    /// `--set run.stop_after=0`), e.g. to fit a job into a time slot; 0: never. The schedule
    /// still spans `run.iterations`.
    pub stop_after: usize,
    /// Replace the outputs of an existing run of the same name (otherwise: an error).
    pub overwrite: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            name: "default".into(),
            output_dir: PathBuf::from("runs"),
            seed: 0,
            device: "cpu".into(),
            iterations: 2000,
            log_every: 20,
            eval_every: 0,
            checkpoint_every: 1000,
            measure_drift: 500,
            drift_sample: 128,
            eval_untrained: true,
            progress: true,
            stop_after: 0,
            overwrite: true,
        }
    }
}

/// `[data]`: dataset and `P × K` sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `synthetic`, `sop`, `inshop`, `deepfashion2`, `cub`, `cars`, `folder`, `fashion-mnist`;
    /// texts: `text-folder`, `jsonl`.
    pub dataset: String,
    /// Dataset root folder (unused for `synthetic`).
    pub root: PathBuf,
    /// `P`: classes per batch.
    pub classes_per_batch: usize,
    /// `K`: images per class in a batch.
    pub images_per_class: usize,
    /// Classes with fewer than `K` images: `with-replacement` or `skip`.
    pub small_classes: SmallClassPolicy,
    /// Side of the square network input in pixels.
    pub image_size: usize,
    /// Training crop: the range of the crop's area fraction of `RandomResizedCrop`
    /// (torchvision: `[0.08, 1]`; XBM's reference: `[0.2, 1]`).
    pub crop_scale: [f64; 2],
    /// Evaluation: shorter side after resizing, before the centre crop of `image_size`
    /// (XBM's reference: 256 for 224); 0 resizes straight to `image_size`.
    pub eval_resize: usize,
    /// Loader worker threads.
    pub workers: usize,
    /// `text-folder`: one sample per `line` (non-blank) or per `file`.
    pub text_unit: xbn_data::TextUnit,
    /// The synthetic dataset (`data.dataset = "synthetic"`).
    pub synthetic: SyntheticSection,
}

/// `[data.synthetic]`: the built-in synthetic "product" dataset (rendered at `data.image_size`,
/// seeded by `seed`, or by `run.seed` when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticSection {
    /// Number of classes (train + test).
    pub classes: usize,
    /// Fewest images of a class.
    pub min_images_per_class: usize,
    /// Most images of a class.
    pub max_images_per_class: usize,
    /// Strength of the nuisance factors, in `[0, 1]`.
    pub difficulty: f32,
    /// Fraction of the classes used for training.
    pub train_fraction: f32,
    /// Seed of the dataset; absent: `run.seed`. Fix it to compare training seeds on one
    /// dataset (as a sweep over `run.seed` usually wants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl Default for SyntheticSection {
    fn default() -> Self {
        Self {
            classes: 400,
            min_images_per_class: 4,
            max_images_per_class: 8,
            difficulty: 0.3,
            train_fraction: 0.5,
            seed: None,
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dataset: "synthetic".into(),
            root: PathBuf::new(),
            classes_per_batch: 16,
            images_per_class: 4,
            small_classes: SmallClassPolicy::WithReplacement,
            image_size: 32,
            crop_scale: [0.36, 1.0],
            eval_resize: 0,
            workers: 2,
            text_unit: xbn_data::TextUnit::Line,
            synthetic: SyntheticSection::default(),
        }
    }
}

/// The network body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backbone {
    /// A small CNN that trains from scratch on a CPU in minutes.
    SmallCnn,
    /// ResNet-50 with the XBM head (global pooling → linear → L2 normalize).
    Resnet50,
    /// A BERT-family sentence encoder (BERT, MiniLM, …) for texts: `model.weights` names its
    /// checkpoint folder or Hub repository (`config.json`, `tokenizer.json`, weights).
    Bert,
    /// A vision transformer (Hugging Face `ViTModel`, `google/vit-*`).
    Vit,
    /// DINOv2 (Hugging Face `Dinov2Model`, `facebook/dinov2-*`).
    Dinov2,
    /// CLIP's image tower (`openai/clip-vit-*`).
    ClipVision,
}

impl Backbone {
    /// Whether it embeds texts (else images).
    pub fn is_text(self) -> bool {
        matches!(self, Backbone::Bert)
    }

    /// The vision-transformer flavor, for `vit`, `dinov2` and `clip-vision`.
    pub fn vit_flavor(self) -> Option<xbn_nn::model::VitFlavor> {
        use xbn_nn::model::VitFlavor;
        match self {
            Backbone::Vit => Some(VitFlavor::Vit),
            Backbone::Dinov2 => Some(VitFlavor::Dinov2),
            Backbone::ClipVision => Some(VitFlavor::ClipVision),
            _ => None,
        }
    }

    /// Whether it is a transformer (text or vision).
    pub fn is_transformer(self) -> bool {
        self.is_text() || self.vit_flavor().is_some()
    }
}

/// `[model]`: backbone, head and weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// The backbone.
    pub backbone: Backbone,
    /// Embedding dimension `d`. For text backbones 0 means no linear head: the pooled
    /// features are the embedding (sentence-transformers' model as it is).
    pub embedding_dim: usize,
    /// Pretrained weights: `hf:<repo>` (Hugging Face Hub) or a local safetensors path; empty:
    /// random. Text backbones: the checkpoint folder or `hf:<repo>` (with `config.json` and
    /// `tokenizer.json`).
    pub weights: String,
    /// Text backbones: the longest token sequence, special tokens included; 0: the
    /// checkpoint's `max_seq_length` (sentence-transformers), else `max_position_embeddings`.
    pub max_length: usize,
    /// Vision transformers without a checkpoint folder: the shape, `t16`, `s16`, `b16`, `s14`,
    /// `b14`, `b32` (tiny/small/base, patch size), or `HIDDENxLAYERSxHEADS/PATCH` (e.g.
    /// `32x2x4/8`); empty: the checkpoint's `config.json`, else `s16`.
    pub variant: String,
    /// Vision transformers: the input side in pixels; 0: the backbone's own (224 px, or the
    /// checkpoint's image size). CNNs take `data.image_size`.
    pub image_size: usize,
    /// Vision transformers: the per-channel mean of the input normalization; absent: the
    /// backbone's (ViT 0.5, DINOv2 ImageNet, CLIP its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_mean: Option<[f32; 3]>,
    /// Vision transformers: the per-channel standard deviation; absent: the backbone's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_std: Option<[f32; 3]>,
    /// Use only the local Hugging Face cache (no network).
    pub offline: bool,
    /// Keep BatchNorm in inference mode with frozen statistics and affine parameters.
    pub freeze_bn: bool,
    /// Small CNN: output channels of each conv-BN-ReLU block.
    pub channels: Vec<usize>,
    /// Pooling before the head: `auto` (CNNs: `avg`; text: the checkpoint's pooling, else
    /// `avg`), `avg`, `max` (XBM's reference backbone) or `avg+max` (CNNs), `cls` (the first
    /// token, transformers). For text, `avg` is the mean over the attention mask.
    pub pooling: PoolingKind,
}

/// `model.pooling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolingKind {
    /// The backbone's own: `avg` for CNNs, the checkpoint's pooling for text.
    #[serde(rename = "auto")]
    Auto,
    /// Global average pooling.
    #[serde(rename = "avg")]
    Avg,
    /// Global max pooling (research-xbm's `adaptive_max_pool2d`).
    #[serde(rename = "max")]
    Max,
    /// The sum of both.
    #[serde(rename = "avg+max")]
    AvgMax,
    /// The first (`[CLS]`) token of a transformer.
    #[serde(rename = "cls")]
    Cls,
}

impl PoolingKind {
    /// The global pooling of a CNN; `None` for `cls`, which needs a transformer.
    pub fn for_cnn(self) -> Option<xbn_nn::model::Pooling> {
        use xbn_nn::model::Pooling;
        match self {
            PoolingKind::Auto | PoolingKind::Avg => Some(Pooling::Avg),
            PoolingKind::Max => Some(Pooling::Max),
            PoolingKind::AvgMax => Some(Pooling::AvgMax),
            PoolingKind::Cls => None,
        }
    }

    /// The pooling of a vision transformer: `auto` and `cls` pool the class token, `avg` the
    /// mean of the patch tokens; `None` for `max` and `avg+max`.
    pub fn for_vit(self) -> Option<xbn_nn::model::VitPooling> {
        use xbn_nn::model::VitPooling;
        match self {
            PoolingKind::Auto | PoolingKind::Cls => Some(VitPooling::Cls),
            PoolingKind::Avg => Some(VitPooling::MeanPatches),
            PoolingKind::Max | PoolingKind::AvgMax => None,
        }
    }

    /// The token pooling of a text encoder whose checkpoint says `checkpoint`; `None` for the
    /// CNN poolings `max` and `avg+max`.
    pub fn for_text(
        self,
        checkpoint: Option<xbn_nn::model::TokenPooling>,
    ) -> Option<xbn_nn::model::TokenPooling> {
        use xbn_nn::model::TokenPooling;
        match self {
            PoolingKind::Auto => Some(checkpoint.unwrap_or(TokenPooling::Mean)),
            PoolingKind::Avg => Some(TokenPooling::Mean),
            PoolingKind::Cls => Some(TokenPooling::Cls),
            PoolingKind::Max | PoolingKind::AvgMax => None,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            backbone: Backbone::SmallCnn,
            embedding_dim: 64,
            weights: String::new(),
            offline: false,
            freeze_bn: false,
            channels: vec![64, 128, 256, 512],
            max_length: 0,
            variant: String::new(),
            image_size: 0,
            image_mean: None,
            image_std: None,
            pooling: PoolingKind::Auto,
        }
    }
}

/// `[loss]`: the pair-based loss `ℓ(A, R)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// Loss name from xbn-losses (`contrastive`, `triplet`, `multi-similarity`, …).
    pub name: String,
    /// Margin `λ` of the contrastive loss (and the margin of margin-based losses).
    pub margin: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            name: "xbm-contrastive".into(),
            margin: 0.5,
        }
    }
}

/// `[memory]`: the cross-batch memory and the loss `ℓ(Z,Z) + w·ℓ(Z, M̂)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Capacity `m_max` of the FIFO memory (0: no memory, plain pair loss).
    pub size: usize,
    /// Weight `w` of the memory term.
    pub weight: f64,
    /// Iteration from which the memory term is on.
    pub t_start: usize,
    /// At `t_start`, fill the memory with embeddings of random training images.
    pub warm_start: bool,
    /// When batches start entering the memory: `at-t-start` (XBM's reference: nothing before
    /// `t_start`, then it grows from empty) or `from-start` (every batch from iteration 0).
    pub fill: MemoryFill,
}

/// `memory.fill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryFill {
    /// Nothing is enqueued before `t_start` (XBM's behaviour).
    AtTStart,
    /// Every batch is enqueued from iteration 0.
    FromStart,
}

impl From<MemoryFill> for xbn_memory::FillPolicy {
    fn from(fill: MemoryFill) -> Self {
        match fill {
            MemoryFill::AtTStart => Self::AtTStart,
            MemoryFill::FromStart => Self::FromStart,
        }
    }
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            size: 1024,
            weight: 1.0,
            t_start: 200,
            warm_start: false,
            fill: MemoryFill::AtTStart,
        }
    }
}

/// Which moment matching adapts the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormKind {
    /// Plain XBM: `M̂ = M`.
    None,
    /// Cross batch normalization with the batch moments.
    Xbn,
    /// Adaptive XBN: Kalman-filtered target moments.
    Axbn,
}

/// `[norm]`: moment matching options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormConfig {
    /// `none`, `xbn` or `axbn`.
    pub kind: NormKind,
    /// `ε` of the (XBN) map.
    pub eps: f64,
    /// L2-normalize rows of `M̂` after the map.
    pub renormalize: bool,
    /// AXBN relative drift rate `q` (process noise `Q_μ = q·v`, `Q_v = q·v²`).
    pub q: f64,
    /// AXBN observation noise: `predicted` (from the filter's predicted variance; unbiased) or
    /// `batch` (from the batch's own variance, the spec's literal form).
    pub observation_noise: ObservationNoiseKind,
    /// AXBN trend rate `q_g`: 0 is the paper's random-walk filter; > 0 the local-linear-trend
    /// filter, which also tracks how fast the moments move (`xbn_core::TrendState`).
    pub trend_rate: f64,
}

/// `norm.observation_noise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObservationNoiseKind {
    /// `R` from the predicted variance `v⁻`.
    Predicted,
    /// `R` from the batch variance `s²`.
    Batch,
}

impl From<ObservationNoiseKind> for xbn_core::ObservationNoise {
    fn from(kind: ObservationNoiseKind) -> Self {
        match kind {
            ObservationNoiseKind::Predicted => Self::Predicted,
            ObservationNoiseKind::Batch => Self::Batch,
        }
    }
}

impl Default for NormConfig {
    fn default() -> Self {
        Self {
            kind: NormKind::Axbn,
            eps: 1e-5,
            renormalize: true,
            q: xbn_core::DEFAULT_DRIFT_RATE,
            observation_noise: ObservationNoiseKind::Predicted,
            trend_rate: 0.0,
        }
    }
}

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// AdamW (decoupled weight decay).
    Adamw,
    /// Adam with L2 weight decay coupled into the gradient (`torch.optim.Adam`; XBM's
    /// reference optimizer).
    Adam,
    /// SGD with momentum and weight decay.
    Sgd,
}

/// The learning-rate schedule after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// Constant.
    Constant,
    /// Cosine decay to 0 at the last iteration.
    Cosine,
    /// Multiply by `gamma` every `step_size` iterations.
    Step,
}

/// `[optim]`: optimizer, learning rates and schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    /// `adamw`, `adam` (coupled L2 decay) or `sgd`.
    pub optimizer: OptimizerKind,
    /// Learning rate of the backbone.
    pub lr_backbone: f64,
    /// Learning rate of the embedding head.
    pub lr_head: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Linear warm-up iterations.
    pub warmup: usize,
    /// Schedule after warm-up.
    pub schedule: ScheduleKind,
    /// Step schedule: period in iterations.
    pub step_size: usize,
    /// Step schedule: factor.
    pub gamma: f64,
    /// Clip the global gradient norm to this value (0: off).
    pub grad_clip: f64,
    /// Layer-wise learning-rate decay of transformer backbones: a parameter at depth `l` of
    /// `L` (embeddings 0, layer `i` at `i + 1`) trains at `lr_backbone · layer_decay^(L − l)`;
    /// 1 turns it off (every backbone parameter at `lr_backbone`).
    pub layer_decay: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Adamw,
            lr_backbone: 1e-3,
            lr_head: 1e-3,
            weight_decay: 1e-4,
            momentum: 0.9,
            warmup: 20,
            schedule: ScheduleKind::Cosine,
            step_size: 1000,
            gamma: 0.1,
            grad_clip: 0.0,
            layer_decay: 1.0,
        }
    }
}

/// `[eval]`: retrieval evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// The K of Recall@K (empty: the dataset's standard list).
    pub k: Vec<usize>,
    /// Metric that selects the best model (`recall@1`, `map@r`, …).
    pub best_metric: String,
    /// Images per forward pass when embedding a split.
    pub batch_size: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            k: vec![1, 2, 4, 8],
            best_metric: "recall@1".into(),
            batch_size: 128,
        }
    }
}
