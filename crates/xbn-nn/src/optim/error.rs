//! The typed error of the optimizers and schedules.

/// Everything that can go wrong in an optimizer: bad hyper-parameters, groups or saved state.
/// On error the parameters and optimizer state are left unchanged.
#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    /// A hyper-parameter is out of range.
    #[error("invalid optimizer configuration: {0}")]
    InvalidConfig(String),
    /// Two parameters share a name (state keys would collide).
    #[error("parameter `{0}` appears twice in the optimizer's groups")]
    DuplicateParam(String),
    /// Saved optimizer state does not fit the parameters.
    #[error("optimizer state: {0}")]
    State(String),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`OptimError`].
pub type Result<T> = std::result::Result<T, OptimError>;
