//! # nninit
//!
//! `torch.nn.init` for wgpu: weights are filled where they are used, directly in GPU memory, by
//! WGSL kernels driven by a counter-based Philox4x32-10 stream. Every value is a pure function of
//! (seed, stream, logical element index), so results never depend on the adapter, workgroup size,
//! chunking or call order, and the CPU backend computes the same stream.
//!
//! A fill is *what* — a [`Fill`]: a [`Scheme`] resolved for a shape (a [`Plan`], with PyTorch's
//! numbers) plus a [`Stream`] — and *where*: a [`Region`] of the tensor (all of it, an element
//! range, a [`Shard`]) written as a [`Dtype`] into a GPU buffer ([`gpu::GpuTarget`]) or host
//! memory. Each backend has one way to run it: [`gpu::GpuFiller::record`] and
//! [`cpu::CpuBackend::fill`].
//!
//! Recording into an engine's encoder, on the engine's own device:
//!
//! ```no_run
//! # async fn engine(device: &wgpu::Device, queue: &wgpu::Queue, weights: &wgpu::Buffer) -> nninit::Result<()> {
//! use nninit::{gpu::{GpuFiller, GpuTarget}, Dtype, Fill, Scheme, Stream};
//! let filler = GpuFiller::new(device, queue).await?;
//! let fill = Fill::new(&Scheme::kaiming_normal(0.0, "fan_in", "relu")?, &[4096, 4096], Stream::new(42, 0))?;
//! let mut encoder = device.create_command_encoder(&Default::default());
//! filler.record(&mut encoder, &fill, &GpuTarget::new(weights, Dtype::Bf16))?;
//! // ... the engine records its own passes, which read the weights in place ...
//! queue.submit([encoder.finish()]);
//! # Ok(()) }
//! ```
//!
//! A CPU fill, and a shard that holds exactly its slice of the tensor:
//!
//! ```
//! use nninit::{cpu::CpuBackend, Dtype, Fill, Region, Scheme, Shard, Stream};
//! let fill = Fill::new(&Scheme::normal(0.0, 0.02)?, &[8, 16], Stream::new(42, 0))?;
//! let cpu = CpuBackend::new();
//! let mut whole = vec![0f32; 128];
//! cpu.fill(&fill, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut whole))?;
//! let mut rows = vec![0f32; 32];
//! let shard = Shard { rows: Some(2..4), cols: None };
//! cpu.fill(&fill, &Region::Shard(shard), Dtype::F32, bytemuck::cast_slice_mut(&mut rows))?;
//! assert_eq!(rows, whole[32..64]);
//! # Ok::<(), nninit::Error>(())
//! ```
//!
//! A whole model (presets, rules, per-name streams, pretrained merge, safetensors out, or
//! recorded into caller-owned buffers): [`model`].
//!
//! ```
//! use nninit::{cpu::CpuBackend, model::{presets, Backend, Model}, Dtype};
//! let spec = presets::cpn50(17)?.subset(&["global_net.predict.0.*".into()]);
//! let model = Model::new(&spec, 42, Dtype::F32)?;
//! let tensors = model.to_host_blocking(Backend::Cpu(&CpuBackend::new()))?;
//! assert_eq!(tensors.len(), 12); // two convolutions, two batch norms
//! # Ok::<(), nninit::Error>(())
//! ```
//!
//! Checking what a file holds against how it was made: [`inspect`]. Reading and writing
//! safetensors files in bounded pieces: [`io`].
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `orthogonal` | yes | `orthogonal_` (Householder QR through faer); without it, an orthogonal fill is an error |
//! | `cli` | yes | the `nninit` binary: clap, plots, benchmarks, and every wgpu backend of the platform |
//!
//! The library itself depends on wgpu without default features: an engine's own wgpu brings
//! the backends (features unify). With `default-features = false`, no CLI crate is built.

#![deny(missing_docs)]

mod contract;
pub mod cpu;
mod error;
pub mod gpu;
pub mod inspect;
pub mod io;
pub mod model;
mod parallel;
mod scheme;

pub use contract::dtype::Dtype;
pub use contract::stream::{name_stream, Stream, STREAM_VERSION};
pub use error::{Error, Result};
pub use scheme::{calculate_gain, fans, FanMode, Fill, Plan, Region, Scheme, Shard};

/// The Rust examples of the README and of every page of `docs/`, compiled as doctests so they
/// stay true (`tests/docs.rs` checks that every page is listed here, and the links).
#[cfg(doctest)]
mod doc_pages {
    macro_rules! pages {
        ($($name:ident = $path:literal),* $(,)?) => {
            $(
                #[doc = include_str!($path)]
                struct $name;
            )*
        };
    }
    pages! {
        Readme = "../README.md",
        Contract = "../docs/contract.md",
        Schemes = "../docs/schemes.md",
        Models = "../docs/models.md",
        Python = "../docs/python.md",
        Inspect = "../docs/inspect.md",
        Engines = "../docs/engines.md",
        Cli = "../docs/cli.md",
        Guarantees = "../docs/guarantees.md",
        Testing = "../docs/testing.md",
        Benchmarks = "../docs/benchmarks.md",
        Index = "../docs/README.md",
        Changelog = "../CHANGELOG.md",
    }
}
