//! Layer 4, whole models: named tensors in PyTorch `state_dict` naming, rules that give each one
//! a scheme, presets (ResNet-50, CPN-50, a decoder-only transformer), pretrained merge, and runs
//! into a safetensors file, host memory or caller-owned GPU buffers.
//!
//! A [`ModelSpec`] (tensors and rules) becomes a [`Model`] for a seed and a dtype. Every tensor
//! draws from its own stream, `Stream::new(seed, name_stream(name))`, so its values depend only
//! on the seed, its name, its shape and its scheme: reordering the model, adding or removing
//! tensors, or initializing a subset changes nothing else.
//!
//! ```
//! use nninit::cpu::CpuBackend;
//! use nninit::model::{presets, Backend, Model};
//! let spec = presets::cpn50(17)?;
//! let model = Model::new(&spec.subset(&["global_net.predict.0.*".into()]), 42, nninit::Dtype::F32)?;
//! let tensors = model.to_host_blocking(Backend::Cpu(&CpuBackend::new()))?;
//! assert_eq!(tensors.len(), 1 + 5 + 1 + 5); // two convs, two batch norms
//! # Ok::<(), nninit::Error>(())
//! ```

mod hf_config;
mod like;
mod output;
pub mod presets;
mod pretrained;
mod resolved;
mod rules;
mod run;
mod spec;
mod spec_file;
mod tensor;

pub use hf_config::{HfConfig, HF_MODEL_TYPES};
pub use like::spec_like;
pub use output::{write_fill_blocking, Destination, FillOutput};
pub use pretrained::{FileReport, MergeReport, Pretrained};
pub use resolved::{Model, ModelTensor, Source};
pub use rules::{glob_match, resolve, rules_from_file, Rule};
pub use run::{ArenaLayout, Backend, RunSummary, Sink, TensorTarget};
pub use spec::ModelSpec;
pub use tensor::{ElementType, LayerKind, TensorSpec};
