//! `--device auto|gpu|cpu` and adapter listing.

use nninit::gpu::{adapters_blocking, describe, GpuContext};

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
        (_, Some(pattern)) => matching(pattern).map(Some),
        (DeviceChoice::Gpu, None) => GpuContext::best_where_blocking(|_| true).map(Some),
        (DeviceChoice::Auto, None) => {
            let hardware = |info: &wgpu::AdapterInfo| {
                matches!(info.device_type, wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu)
            };
            match GpuContext::best_where_blocking(hardware) {
                Ok(ctx) => Ok(Some(ctx)),
                Err(nninit::Error::NoAdapter(_)) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

/// A context on the best adapter whose name or backend contains `pattern` (case-insensitive).
pub fn matching(pattern: &str) -> nninit::Result<GpuContext> {
    let pattern = pattern.to_lowercase();
    GpuContext::best_where_blocking(|info| {
        info.name.to_lowercase().contains(&pattern) || format!("{:?}", info.backend).to_lowercase().contains(&pattern)
    })
}

/// `nninit adapters`.
pub fn list_adapters() -> nninit::Result<()> {
    let found = adapters_blocking();
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
