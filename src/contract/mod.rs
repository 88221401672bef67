//! Layer 1, the stream contract and the element math: what every value is, bit for bit.
//!
//! Each file with a WGSL twin has it under `shaders/lib/` with the same name (`philox`,
//! `mathf`, `values`, `quantile`, `trunc_normal`, `dtype`, `diagonal`); the numbers both share
//! are defined once in `constants.rs`, from which `build.rs` generates the shaders' prelude.
//! `batch` evaluates an [`op::Op`] over many elements on the CPU, vectorized per instruction set.
//! `stats` holds the f64 reference distributions that the truncated normal's constants and the
//! checks of `inspect` use.

pub(crate) mod batch;
/// The numbers the Rust and WGSL twins share, defined once (see the file). The WGSL prelude
/// and module lists serve `build.rs` (which includes the file) and the tests.
#[allow(dead_code)]
pub(crate) mod constants;
pub(crate) mod diagonal;
pub(crate) mod dtype;
pub(crate) mod isa;
pub(crate) mod lanes;
pub(crate) mod mathf;
pub(crate) mod op;
pub(crate) mod philox;
#[cfg(target_arch = "x86_64")]
mod philox_x86;
pub(crate) mod quantile;
pub mod stats;
pub(crate) mod stream;
pub(crate) mod trunc_normal;
pub(crate) mod values;
