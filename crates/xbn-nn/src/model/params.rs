//! Named parameters with seeded initialization and their split into optimizer groups.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

use super::error::{ModelError, Result};

/// What a named tensor of a backbone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamRole {
    /// A trainable parameter of the feature extractor (backbone learning rate).
    Backbone,
    /// A trainable parameter of the embedding head (head learning rate).
    Head,
    /// A non-trainable buffer (BatchNorm running statistics) or a frozen parameter: saved with
    /// the model, never given to an optimizer.
    Buffer,
}

/// Trainable parameters split into the two learning-rate groups of the trainer.
#[derive(Debug, Clone, Default)]
pub struct ParamGroups {
    /// Feature-extractor parameters, by name.
    pub backbone: Vec<(String, Var)>,
    /// Embedding-head parameters, by name.
    pub head: Vec<(String, Var)>,
}

/// Builds the parameters of a backbone: every tensor is created from a seeded ChaCha8 stream on
/// the host (so initialization is identical on every device), inserted into a [`VarMap`] under
/// its torchvision/timm name and recorded with its [`ParamRole`].
pub struct ParamStore {
    varmap: VarMap,
    rng: ChaCha8Rng,
    dtype: DType,
    device: Device,
    entries: Vec<(String, ParamRole, Var)>,
}

impl ParamStore {
    /// An empty store whose random initializers are seeded with `seed`.
    pub fn new(seed: u64, dtype: DType, device: &Device) -> Self {
        Self {
            varmap: VarMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            dtype,
            device: device.clone(),
            entries: Vec::new(),
        }
    }

    /// The dtype of every parameter.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The device of every parameter.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn insert(
        &mut self,
        name: &str,
        role: ParamRole,
        values: Vec<f32>,
        shape: &[usize],
    ) -> Result<Var> {
        let t = Tensor::from_vec(values, shape, &Device::Cpu)?
            .to_dtype(self.dtype)?
            .to_device(&self.device)?;
        let var = Var::from_tensor(&t)?;
        self.varmap
            .data()
            .lock()
            .map_err(|_| ModelError::Poisoned)?
            .insert(name.to_string(), var.clone());
        self.entries.push((name.to_string(), role, var.clone()));
        Ok(var)
    }

    /// A parameter drawn from `N(0, std²)`.
    pub fn normal(
        &mut self,
        name: &str,
        shape: &[usize],
        std: f64,
        role: ParamRole,
    ) -> Result<Var> {
        let dist = Normal::new(0.0f64, std)
            .map_err(|e| ModelError::InvalidConfig(format!("{name}: normal std {std}: {e}")))?;
        let n = shape.iter().product();
        let values = (0..n).map(|_| dist.sample(&mut self.rng) as f32).collect();
        self.insert(name, role, values, shape)
    }

    /// A parameter drawn from `U(−bound, bound)` (PyTorch's default `nn.Linear` init uses
    /// `bound = 1/sqrt(fan_in)`).
    pub fn uniform(
        &mut self,
        name: &str,
        shape: &[usize],
        bound: f64,
        role: ParamRole,
    ) -> Result<Var> {
        let dist = Uniform::new_inclusive(-bound, bound).map_err(|e| {
            ModelError::InvalidConfig(format!("{name}: uniform bound {bound}: {e}"))
        })?;
        let n = shape.iter().product();
        let values = (0..n).map(|_| dist.sample(&mut self.rng) as f32).collect();
        self.insert(name, role, values, shape)
    }

    /// A parameter filled with `value`.
    pub fn constant(
        &mut self,
        name: &str,
        shape: &[usize],
        value: f32,
        role: ParamRole,
    ) -> Result<Var> {
        let n = shape.iter().product();
        self.insert(name, role, vec![value; n], shape)
    }

    /// Freezes (moves to [`ParamRole::Buffer`]) every recorded entry whose name satisfies `pred`.
    pub fn freeze_where(&mut self, pred: impl Fn(&str) -> bool) {
        for (name, role, _) in &mut self.entries {
            if *role != ParamRole::Buffer && pred(name) {
                *role = ParamRole::Buffer;
            }
        }
    }

    /// Finishes building: the map of all tensors and the record of their roles.
    pub fn finish(self) -> (VarMap, ParamRoles) {
        (self.varmap, ParamRoles(self.entries))
    }
}

/// The role of every named tensor of a backbone, in creation order.
#[derive(Debug, Clone, Default)]
pub struct ParamRoles(Vec<(String, ParamRole, Var)>);

impl ParamRoles {
    /// The trainable parameters split into backbone and head groups.
    pub fn groups(&self) -> ParamGroups {
        let mut groups = ParamGroups::default();
        for (name, role, var) in &self.0 {
            match role {
                ParamRole::Backbone => groups.backbone.push((name.clone(), var.clone())),
                ParamRole::Head => groups.head.push((name.clone(), var.clone())),
                ParamRole::Buffer => {}
            }
        }
        groups
    }

    /// Every named tensor with its role.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ParamRole, &Var)> {
        self.0.iter().map(|(n, r, v)| (n.as_str(), *r, v))
    }
}
