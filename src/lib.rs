//! # nninit
//!
//! `torch.nn.init` for wgpu: weights are filled where they are used, directly in GPU memory, by
//! WGSL kernels driven by a counter-based Philox4x32-10 stream. Every value is a pure function of
//! (seed, stream, logical element index), so results never depend on the adapter, workgroup size,
//! chunking or call order, and the CPU backend computes the same stream.
//!
//! Single tensors: [`Plan`] and [`gpu::GpuFiller`] / [`cpu::CpuBackend`]. Whole models (presets,
//! rules, pretrained merge, safetensors out, caller-owned buffers): [`model`]. Checking what a
//! file holds against how it was made: [`inspect`].
//!
//! ```
//! use nninit::{cpu::CpuBackend, Fill, Scheme, Stream};
//! let fill = Fill::new(&Scheme::normal(0.0, 1.0)?, Stream::new(42, 0));
//! let mut whole = vec![0f32; 64];
//! CpuBackend::new().fill_f32(&mut whole, 0, &fill);
//! // A shard holds exactly its slice of the tensor.
//! let mut shard = vec![0f32; 10];
//! CpuBackend::new().fill_f32(&mut shard, 17, &fill);
//! assert_eq!(shard, whole[17..27]);
//! # Ok::<(), nninit::Error>(())
//! ```

#![warn(missing_docs)]

pub mod cpu;
pub mod diagonal;
pub mod dtype;
pub mod error;
pub mod fill;
pub mod gpu;
pub mod init;
pub mod inspect;
mod isa;
pub mod mathf;
pub mod model;
pub mod orthogonal;
pub mod philox;
pub mod planner;
pub mod prepared;
pub mod quantile;
pub mod scheme;
pub mod shard;
pub mod sparse;
pub mod stats;
pub mod stream;
pub mod tensor_file;
pub mod trunc_normal;
pub mod values;

pub use dtype::Dtype;
pub use error::{Error, Result};
pub use fill::{Fill, Op};
pub use init::Init;
pub use planner::{Plan, Work};
pub use scheme::Scheme;
pub use shard::Shard;
pub use stream::Stream;

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
