//! The BERT sentence encoder as a [`Backbone`].

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

use super::super::error::{ModelError, Result};
use super::super::head::EmbeddingHead;
use super::super::params::{ParamGroups, ParamRoles, ParamStore};
use super::super::transformer::attention_bias;
use super::super::{Backbone, Input, InputSpec, TokenSpec};
use super::config::BertConfig;
use super::embeddings::BertEmbeddings;
use super::layer::BertLayer;

/// A trainable BERT-family sentence encoder (see the [module docs](super)).
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use xbn_nn::model::{Backbone, BertConfig, BertEncoder, Input, Tokens};
///
/// let bert = BertEncoder::new(&BertConfig::tiny(50, 16, 2, 2), DType::F32, &Device::Cpu)?;
/// let ids = Tensor::new(&[[2u32, 7, 9, 3], [2, 5, 3, 0]], &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u32, 1, 1, 1], [1, 1, 1, 0]], &Device::Cpu)?;
/// let z = bert.forward(&Input::Tokens(Tokens { ids, mask }), false)?;
/// assert_eq!(z.dims(), &[2, 16]);
/// # Ok::<(), xbn_nn::model::ModelError>(())
/// ```
pub struct BertEncoder {
    embeddings: BertEmbeddings,
    layers: Vec<BertLayer>,
    head: Option<EmbeddingHead>,
    config: BertConfig,
    varmap: VarMap,
    roles: ParamRoles,
}

impl BertEncoder {
    /// A randomly initialized encoder (weights `N(0, initializer_range²)`, as Hugging Face's
    /// `BertModel`), seeded with `config.seed`.
    pub fn new(config: &BertConfig, dtype: DType, device: &Device) -> Result<Self> {
        config.validate()?;
        let mut store = ParamStore::new(config.seed, dtype, device);
        let embeddings = BertEmbeddings::new(&mut store, config)?;
        let layers = (0..config.encoder.num_hidden_layers)
            .map(|i| BertLayer::new(&mut store, config, i))
            .collect::<Result<Vec<_>>>()?;
        let head = match config.head_dim {
            Some(d) => Some(EmbeddingHead::new(
                &mut store,
                "head",
                config.encoder.hidden_size,
                d,
            )?),
            None => None,
        };
        let (varmap, roles) = store.finish();
        Ok(Self {
            embeddings,
            layers,
            head,
            config: config.clone(),
            varmap,
            roles,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The last hidden states `(N, L, hidden)` of `ids (N, L)` under `mask (N, L)`.
    pub fn hidden_states(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (n, l) = ids.dims2()?;
        if n == 0 || l == 0 || mask.dims() != ids.dims() {
            return Err(ModelError::BadInput {
                what: "attention mask",
                expected: format!("the shape of the token ids ({n}, {l}), both non-empty"),
                shape: mask.dims().to_vec(),
            });
        }
        let mut x = self.embeddings.forward(ids)?;
        let bias = attention_bias(mask, x.dtype())?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        Ok(x)
    }
}

impl Backbone for BertEncoder {
    fn name(&self) -> &str {
        "bert"
    }

    fn features(&self, input: &Input, _train: bool) -> Result<Tensor> {
        let tokens = input.tokens(self.name())?;
        if tokens.ids.rank() != 2 {
            return Err(ModelError::BadInput {
                what: "token ids",
                expected: "(N, L)".into(),
                shape: tokens.ids.dims().to_vec(),
            });
        }
        let hidden = self.hidden_states(&tokens.ids, &tokens.mask)?;
        self.config.pooling.apply(&hidden, &tokens.mask)
    }

    fn head(&self, features: &Tensor) -> Result<Tensor> {
        match &self.head {
            Some(head) => head.forward(features),
            None => Ok(xbn_core::l2_normalize_rows(features)?),
        }
    }

    fn embedding_dim(&self) -> usize {
        self.head
            .as_ref()
            .map_or(self.config.encoder.hidden_size, EmbeddingHead::out_dim)
    }

    fn feature_dim(&self) -> usize {
        self.config.encoder.hidden_size
    }

    fn input_spec(&self) -> InputSpec {
        InputSpec::Tokens(TokenSpec {
            max_positions: self.config.encoder.max_position_embeddings,
            vocab_size: self.config.encoder.vocab_size,
        })
    }

    fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    fn param_groups(&self) -> ParamGroups {
        self.roles.groups()
    }

    fn roles(&self) -> &ParamRoles {
        &self.roles
    }

    /// 0 for the embeddings, `i + 1` for layer `i`; `None` for the head.
    fn layer_depth(&self, name: &str) -> Option<usize> {
        if name.starts_with("embeddings.") {
            return Some(0);
        }
        let rest = name.strip_prefix("encoder.layer.")?;
        Some(rest.split('.').next()?.parse::<usize>().ok()? + 1)
    }

    fn depth(&self) -> usize {
        self.layers.len()
    }
}
