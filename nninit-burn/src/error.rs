//! The crate's error type.

/// What can go wrong initializing a burn module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// nninit refused a scheme, a shape or a rule (its message names the tensor).
    #[error(transparent)]
    Nninit(#[from] nninit::Error),
    /// burn or CubeCL failed to give a tensor's buffer or to flush its work.
    #[error("burn: {0}")]
    Burn(String),
    /// A parameter nninit cannot fill as PyTorch would: a dtype other than f32, f16 and bf16,
    /// a layout it cannot read.
    #[error("{0}")]
    Unsupported(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
