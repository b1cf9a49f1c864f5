//! What a backbone embeds: a batch of images, or a batch of tokenized texts.

use candle_core::Tensor;

use super::error::{ModelError, Result};

/// A batch of token sequences, right-padded to the longest of the batch.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Token ids `(N, L)` `u32`.
    pub ids: Tensor,
    /// Attention mask `(N, L)` `u32`: 1 for real tokens, 0 for padding.
    pub mask: Tensor,
}

/// A batch of backbone input.
#[derive(Debug, Clone)]
pub enum Input {
    /// Normalized images `(N, 3, H, W)`, channels first.
    Images(Tensor),
    /// Tokenized texts.
    Tokens(Tokens),
}

impl Input {
    /// The images of an image batch; an error naming `backbone` for a token batch.
    pub fn images(&self, backbone: &str) -> Result<&Tensor> {
        match self {
            Input::Images(images) => Ok(images),
            Input::Tokens(t) => Err(ModelError::BadInput {
                what: "input",
                expected: format!("images for the {backbone} backbone, not tokens"),
                shape: t.ids.dims().to_vec(),
            }),
        }
    }

    /// The tokens of a token batch; an error naming `backbone` for an image batch.
    pub fn tokens(&self, backbone: &str) -> Result<&Tokens> {
        match self {
            Input::Tokens(tokens) => Ok(tokens),
            Input::Images(images) => Err(ModelError::BadInput {
                what: "input",
                expected: format!("tokens for the {backbone} backbone, not images"),
                shape: images.dims().to_vec(),
            }),
        }
    }

    /// The batch size `N`.
    pub fn rows(&self) -> Result<usize> {
        Ok(match self {
            Input::Images(images) => images.dim(0)?,
            Input::Tokens(t) => t.ids.dim(0)?,
        })
    }

    /// Rows `start .. start + len` of the batch.
    pub fn narrow(&self, start: usize, len: usize) -> Result<Input> {
        Ok(match self {
            Input::Images(images) => Input::Images(images.narrow(0, start, len)?),
            Input::Tokens(t) => Input::Tokens(Tokens {
                ids: t.ids.narrow(0, start, len)?,
                mask: t.mask.narrow(0, start, len)?,
            }),
        })
    }

    /// The same batch detached from any autograd graph.
    pub fn detach(&self) -> Input {
        match self {
            Input::Images(images) => Input::Images(images.detach()),
            Input::Tokens(t) => Input::Tokens(Tokens {
                ids: t.ids.detach(),
                mask: t.mask.detach(),
            }),
        }
    }
}

impl From<Tensor> for Input {
    fn from(images: Tensor) -> Self {
        Input::Images(images)
    }
}
