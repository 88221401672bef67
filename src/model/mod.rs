//! Whole models: named tensors in PyTorch `state_dict` naming, rules that give each one a
//! scheme, presets (ResNet-50, CPN-50, a decoder-only transformer), pretrained merge, and runs
//! into a safetensors file, host memory or caller-owned GPU buffers.
//!
//! Every tensor draws from its own stream, `Stream::new(seed, name_stream(name))`, so its values
//! depend only on the seed, its name, its shape and its scheme: reordering the model, adding or
//! removing tensors, or initializing a subset changes nothing else.
//!
//! ```
//! use nninit::cpu::CpuBackend;
//! use nninit::model::{presets, Backend, ModelPlan};
//! let spec = presets::cpn50(17)?;
//! let plan = ModelPlan::new(&spec.subset(&["global_net.predict.0.*".into()]), 42, nninit::Dtype::F32)?;
//! let tensors = plan.to_host(Backend::Cpu(&CpuBackend::new()))?;
//! assert_eq!(tensors.len(), 1 + 5 + 1 + 5); // two convs, two batch norms
//! # Ok::<(), nninit::Error>(())
//! ```

mod plan;
pub mod presets;
mod pretrained;
mod rules;
mod run;
mod spec;

pub use plan::{name_stream, ModelPlan, PlannedTensor, Source};
pub use pretrained::{FileReport, MergeReport, Pretrained};
pub use rules::{glob_match, resolve, rules_from_file, Rule};
pub use run::{ArenaLayout, Backend, RunSummary, TensorTarget};
pub use spec::{ElementType, LayerKind, ModelSpec, SpecDtype, TensorSpec};
