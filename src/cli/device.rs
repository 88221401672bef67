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

/// Arguments of `nninit adapters`.
#[derive(Debug, clap::Args)]
pub struct AdaptersArgs {
    /// Print one JSON array of the adapters (name, backend, device_type, int64, timestamps,
    /// max_binding and max_buffer in bytes), best first.
    #[arg(long)]
    json: bool,
}

/// `nninit adapters`.
pub fn list_adapters(args: AdaptersArgs) -> nninit::Result<()> {
    let mut found = adapters_blocking();
    found.sort_by_key(|a| GpuContext::rank(&a.get_info()));
    if found.is_empty() {
        sayln!(args.json, "no GPU adapter found (the CPU backend is always available)");
    }
    let mut listed = Vec::new();
    for adapter in found {
        let (info, limits, features) = (adapter.get_info(), adapter.limits(), adapter.features());
        let (int64, timestamps) =
            (features.contains(wgpu::Features::SHADER_INT64), features.contains(wgpu::Features::TIMESTAMP_QUERY));
        if !args.json {
            outln!(
                "{}: int64 {int64}, timestamps {timestamps}, max binding {} MiB, max buffer {} MiB",
                describe(&info),
                limits.max_storage_buffer_binding_size >> 20,
                limits.max_buffer_size >> 20
            );
        }
        listed.push(serde_json::json!({
            "name": info.name,
            "backend": format!("{:?}", info.backend),
            "device_type": format!("{:?}", info.device_type),
            "int64": int64,
            "timestamps": timestamps,
            "max_binding": limits.max_storage_buffer_binding_size,
            "max_buffer": limits.max_buffer_size,
        }));
    }
    if args.json {
        outln!("{}", serde_json::Value::Array(listed));
    }
    Ok(())
}
