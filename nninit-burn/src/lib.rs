//! # nninit-burn
//!
//! [nninit](nninit) inside [burn](burn): any burn module initialized in place on burn's own
//! wgpu device, with `torch.nn.init`'s schemes and PyTorch's values.
//!
//! Each parameter is named as PyTorch's `state_dict` names it (burn's `gamma` and `beta` of a
//! norm are `weight` and `bias`, a `Linear`'s weight is PyTorch's `[out, in]`, a
//! `MultiHeadAttention`'s query, key and value are the blocks of `in_proj_weight`), and filled
//! from the stream `nninit init` gives that name: a burn model and its PyTorch twin start from
//! the same weights, byte for byte, on every adapter and on the CPU.
//!
//! ```no_run
//! use burn::nn::{Linear, LinearConfig};
//! use burn::tensor::Device;
//! use nninit_burn::{Initializer, Rules};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // burn's wgpu device, and the handles nninit records on.
//! let (device, setup) = Device::wgpu_options().init_with_setup()?;
//! let init = Initializer::new(&device, &setup)?;
//! // burn's parameters are lazy: burn's own initializer never runs.
//! let mut layer: Linear = LinearConfig::new(512, 256).init(&device);
//! init.init(&mut layer, 42, &Rules::pytorch())?;
//! # Ok(()) }
//! ```
//!
//! Parameters on a device other than the initializer's (burn's CPU backends, another GPU) are
//! filled on the host by nninit's CPU backend, with the same values; [`Initializer::cpu`] does
//! only that.
//!
//! burn's `LinearLayout::Row` (its default) holds a weight as `[in, out]`: the parameter gets
//! PyTorch's `[out, in]` tensor transposed, a view, so its memory is `[out, in]` as with
//! `LinearLayout::Col`. Both layouts are read from the parameter itself.

#![deny(missing_docs)]

mod error;
mod names;
mod place;
mod rules;

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::wgpu::WgpuSetup;
use burn::tensor::{DType, Device, Tensor};
use nninit::cpu::CpuBackend;
use nninit::gpu::GpuFiller;
use nninit::model::{Model, ModelSpec, TensorSpec};
use nninit::{Dtype, Fill, Region};

pub use error::{Error, Result};
pub use names::{Layout, Slot};
pub use place::buffer_of;
use place::Writer;
pub use rules::Rules;

/// Initializes burn modules: in place on one wgpu device ([`Initializer::new`]), and on the
/// host for parameters anywhere else.
pub struct Initializer {
    gpu: Option<Gpu>,
    cpu: CpuBackend,
}

/// The wgpu device nninit records on: burn's own (the filler holds its wgpu device and queue).
struct Gpu {
    device: Device,
    filler: GpuFiller,
}

/// What [`Initializer::init`] will do to a module: each parameter as PyTorch names it, and the
/// nninit model of those tensors (schemes, plans, streams).
#[derive(Debug)]
pub struct Plan {
    /// Every float parameter (and running statistic), in burn's order.
    pub slots: Vec<Slot>,
    /// The PyTorch tensors they are, resolved for the seed (`nninit init`'s model).
    pub model: Model,
}

/// What [`Initializer::init`] did: how many parameters were filled where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Parameters filled in place, in their own wgpu buffers.
    pub in_place: usize,
    /// Parameters filled on the host and given to burn (another device, or [`Initializer::cpu`]).
    pub on_host: usize,
    /// Bytes of parameter data written, both ways.
    pub bytes: u64,
}

impl Initializer {
    /// An initializer for burn's wgpu `device`, recording on its `setup`'s device and queue (from
    /// `Device::wgpu_options().init_with_setup()`, or the setup an engine registered).
    pub fn new(device: &Device, setup: &WgpuSetup) -> Result<Self> {
        let filler = GpuFiller::new_blocking(&setup.device, &setup.queue)?;
        Ok(Self { gpu: Some(Gpu { device: device.clone().inner(), filler }), cpu: CpuBackend::new() })
    }

    /// An initializer that fills every parameter on the host (nninit's CPU backend, all cores)
    /// and gives it to burn: for burn's CPU backends, or any device.
    pub fn cpu() -> Self {
        Self { gpu: None, cpu: CpuBackend::new() }
    }

    /// What [`Self::init`] would write into `module` for `seed` and `rules`; nothing is run.
    pub fn plan<M: Module>(module: &M, seed: u64, rules: &Rules) -> Result<Plan> {
        let slots = names::slots(module)?;
        let mut tensors: Vec<TensorSpec> = Vec::with_capacity(slots.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for slot in &slots {
            let spec = rules.spec(slot, &slots)?;
            match index.get(&spec.name) {
                // The blocks of one packed tensor (attention's in_proj).
                Some(&i) if tensors[i] == spec && slot.part.is_some() => {}
                Some(_) => {
                    return Err(Error::Unsupported(format!(
                        "{}: two parameters are PyTorch's {} (rename one)",
                        slot.path, spec.name
                    )))
                }
                None => {
                    index.insert(spec.name.clone(), tensors.len());
                    tensors.push(spec);
                }
            }
        }
        if tensors.is_empty() {
            return Err(Error::Unsupported("the module has no float parameters".into()));
        }
        let spec = ModelSpec { name: "burn".into(), tensors, rules: Vec::new() };
        let model = Model::new(&spec, seed, Dtype::F32)?;
        Ok(Plan { slots, model })
    }

    /// Initializes every float parameter and running statistic of `module` from `seed` with
    /// `rules`. burn's own initializers are not run; a parameter on this initializer's device is
    /// filled in its own buffer, any other on the host. On an error `module` is left as it was.
    ///
    /// The GPU work is submitted on burn's queue before this returns, so burn's later work sees
    /// the values; nothing waits for it.
    pub fn init<M: Module>(&self, module: &mut M, seed: u64, rules: &Rules) -> Result<Report> {
        let plan = Self::plan(module, seed, rules)?;
        let mut fills = HashMap::with_capacity(plan.model.tensors.len());
        for tensor in &plan.model.tensors {
            fills.insert(tensor.name.as_str(), tensor.drawn_fill()?);
        }
        let gpu = self.gpu.as_ref().map(|gpu| {
            let encoder = gpu
                .filler
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("nninit-burn init") });
            (gpu, encoder)
        });
        let mut install = Install {
            slots: &plan.slots,
            fills: &fills,
            next: 0,
            gpu,
            cpu: &self.cpu,
            report: Report::default(),
            error: None,
        };
        let mapped = module.clone().map(&mut install);
        if let Some(error) = install.error {
            return Err(error);
        }
        if install.next != plan.slots.len() {
            return Err(Error::Burn(format!(
                "the module visited {} float parameters, then mapped {}",
                plan.slots.len(),
                install.next
            )));
        }
        if let Some((gpu, encoder)) = install.gpu {
            gpu.filler.queue().submit([encoder.finish()]);
        }
        *module = mapped;
        Ok(install.report)
    }
}

/// Initializes `module` on the host with nninit's CPU backend ([`Initializer::cpu`]): any
/// device, the same values as in place.
pub fn init<M: Module>(module: &mut M, seed: u64, rules: &Rules) -> Result<Report> {
    Initializer::cpu().init(module, seed, rules)
}

/// The mapper that gives each parameter its filled tensor, in the order the plan saw them.
struct Install<'a> {
    slots: &'a [Slot],
    fills: &'a HashMap<&'a str, Fill>,
    next: usize,
    gpu: Option<(&'a Gpu, wgpu::CommandEncoder)>,
    cpu: &'a CpuBackend,
    report: Report,
    error: Option<Error>,
}

impl Install<'_> {
    fn value<const D: usize>(&mut self, param: &Param<Tensor<D>>) -> Result<Tensor<D>> {
        let slot = self.slots.get(self.next).ok_or_else(|| Error::Burn("the module grew while mapped".into()))?;
        self.next += 1;
        let fill = self.fills.get(slot.tensor.as_str()).expect("every slot's tensor has a fill");
        let region = slot.part.clone().map(Region::Elements).unwrap_or(Region::All);
        let shape: [usize; D] = slot.shape.clone().try_into().map_err(|_| {
            Error::Burn(format!("{}: visited with {} dims, mapped with {D}", slot.path, slot.shape.len()))
        })?;
        let device = param.lazy_device();
        let dtype =
            if param.is_initialized() { param.val().dtype() } else { DType::from(device.settings().float_dtype) };
        let mut writer = match &mut self.gpu {
            // Device equality ignores autodiff: an autodiff device's tensors live in its inner device's buffers.
            Some((gpu, encoder)) if gpu.device == device => Writer::Gpu { filler: &gpu.filler, encoder },
            _ => Writer::Host(self.cpu),
        };
        let tensor = writer.tensor(fill, &region, shape, dtype, &device, &slot.path)?;
        match writer {
            Writer::Gpu { .. } => self.report.in_place += 1,
            Writer::Host(_) => self.report.on_host += 1,
        }
        self.report.bytes += (shape.iter().product::<usize>() * dtype.size()) as u64;
        Ok(match slot.layout {
            Layout::Transposed => tensor.transpose(),
            Layout::Same | Layout::TransposedOnLoad => tensor,
        })
    }
}

impl ModuleMapper for Install<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        match self.value(&param) {
            Ok(value) => {
                let id = param.id;
                param.transform_for_load(value, id)
            }
            Err(error) => {
                self.error = Some(error);
                param
            }
        }
    }
}

/// The README's Rust blocks, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
