//! `--device auto|gpu|cpu` and adapter listing.

use nninit::gpu::{adapters, describe, GpuContext};

/// Where a command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// A hardware GPU if there is one, else the CPU backend (faster than a software adapter).
    Auto,
    /// The best GPU adapter, software ones included (lavapipe, llvmpipe).
    Gpu,
    /// The multi-threaded CPU backend.
    Cpu,
}

/// The GPU context to use, or `None` for the CPU backend.
pub fn open(choice: DeviceChoice, adapter: Option<&str>) -> nninit::Result<Option<GpuContext>> {
    match (choice, adapter) {
        (DeviceChoice::Cpu, _) => Ok(None),
        (_, Some(pattern)) => GpuContext::matching(pattern).map(Some),
        (DeviceChoice::Gpu, None) => GpuContext::new().map(Some),
        (DeviceChoice::Auto, None) => {
            let hardware = |info: &wgpu::AdapterInfo| {
                matches!(info.device_type, wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu)
            };
            match GpuContext::best_where(hardware) {
                Ok(ctx) => Ok(Some(ctx)),
                Err(nninit::Error::NoAdapter(_)) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

/// `nninit adapters`.
pub fn list_adapters() -> nninit::Result<()> {
    let found = adapters();
    if found.is_empty() {
        outln!("no GPU adapter found (the CPU backend is always available)");
    }
    for adapter in found {
        let limits = adapter.limits();
        outln!(
            "{}: int64 {}, max binding {} MiB, max buffer {} MiB",
            describe(&adapter.get_info()),
            adapter.features().contains(wgpu::Features::SHADER_INT64),
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_buffer_size >> 20
        );
    }
    Ok(())
}
