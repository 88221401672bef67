//! The one error type of nninit.

/// Everything that can go wrong in nninit, each with a one-line message.
///
/// Parameter errors carry PyTorch's wording, so a PyTorch user recognizes them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A scheme parameter is out of its domain (wording follows PyTorch where PyTorch has one).
    #[error("{0}")]
    InvalidParameter(String),
    /// A shape, range or shard does not fit the tensor it names.
    #[error("{0}")]
    InvalidShape(String),
    /// A fill target does not fit its buffer, is misaligned, or lacks `STORAGE` usage.
    #[error("invalid fill target: {0}")]
    InvalidTarget(String),
    /// An output path cannot be written as asked (a directory where a file goes, a directory
    /// that is not empty, a link loop).
    #[error("{0}")]
    InvalidOutput(String),
    /// The request needs more than the adapter's limits allow.
    #[error("exceeds the adapter's limits: {0}")]
    LimitExceeded(String),
    /// No GPU adapter was found (or none matched the request).
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("could not create a device on {adapter}: {message}")]
    DeviceRequest {
        /// The adapter's name.
        adapter: String,
        /// wgpu's reason.
        message: String,
    },
    /// wgpu reported an error while recording, submitting or reading back.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Host memory for something large could not be allocated.
    #[error("out of memory: could not allocate {what}")]
    OutOfMemory {
        /// What was asked for, with its size.
        what: String,
    },
    /// A signal ended the process's writes ([`crate::io::interrupt_writes`]): nothing more is
    /// written or put in place.
    #[error("interrupted")]
    Interrupted,
    /// A safetensors file could not be written or read.
    #[error("safetensors: {0}")]
    SafeTensors(String),
}

/// `Result` with nninit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A vector of `n` copies of `value`, or [`Error::OutOfMemory`] naming `what` and its size.
pub(crate) fn try_vec<T: Clone>(n: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let bytes = n.saturating_mul(std::mem::size_of::<T>());
    out.try_reserve_exact(n).map_err(|_| Error::OutOfMemory { what: format!("{bytes} bytes for {what}") })?;
    out.resize(n, value);
    Ok(out)
}
