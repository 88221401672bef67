//! A self-made device: adapter discovery and choice for the CLI and simple users.

use super::filler::GpuFiller;
use crate::error::{Error, Result};

/// Every adapter wgpu finds on this machine, on every backend this build enables.
pub async fn adapters() -> Vec<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    instance.enumerate_adapters(wgpu::Backends::all()).await
}

/// [`adapters`], blocking.
pub fn adapters_blocking() -> Vec<wgpu::Adapter> {
    pollster::block_on(adapters())
}

/// One line naming an adapter: name, backend and device type.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

impl GpuContext {
    /// An adapter's place in [`GpuContext::best_where`]'s order (lower is better): discrete GPU,
    /// integrated GPU, Vulkan software, other GPUs, GL software.
    pub fn rank(info: &wgpu::AdapterInfo) -> u32 {
        use wgpu::{Backend, DeviceType};
        match (info.device_type, info.backend) {
            (DeviceType::DiscreteGpu, _) => 0,
            (DeviceType::IntegratedGpu, _) => 1,
            (DeviceType::Cpu, Backend::Vulkan) => 2,
            (DeviceType::VirtualGpu | DeviceType::Other, _) => 3,
            (DeviceType::Cpu, _) => 4,
        }
    }
}

/// A device and queue of nninit's own, with its [`GpuFiller`]: for the CLI, tests and users
/// without an engine. An engine makes its [`GpuFiller`] on its own device instead.
///
/// ```no_run
/// use nninit::{gpu::{GpuContext, GpuTarget}, Dtype, Fill, Region, Scheme, Stream};
/// let gpu = GpuContext::best_where_blocking(|_| true)?;
/// let fill = Fill::new(&Scheme::uniform(-0.1, 0.1)?, &[1024], Stream::new(7, 0))?;
/// let values = gpu.filler.fill_to_host_blocking(&fill, &Region::All, Dtype::F32)?;
/// assert_eq!(values.len(), 4096);
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Debug)]
pub struct GpuContext {
    /// The adapter's description.
    pub info: wgpu::AdapterInfo,
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The fill pipelines for the device.
    pub filler: GpuFiller,
}

impl GpuContext {
    /// A context on the best adapter that `accept` takes, in this order: a discrete GPU, an
    /// integrated one, Vulkan software (lavapipe), other GPUs, GL software; [`Error::NoAdapter`]
    /// when there is none.
    pub async fn best_where(accept: impl Fn(&wgpu::AdapterInfo) -> bool) -> Result<Self> {
        let mut found: Vec<_> = adapters().await.into_iter().filter(|a| accept(&a.get_info())).collect();
        found.sort_by_key(|a| Self::rank(&a.get_info()));
        let adapter = found.into_iter().next().ok_or_else(|| {
            Error::NoAdapter("install a Vulkan or GL driver (e.g. mesa-vulkan-drivers), or use --device cpu".into())
        })?;
        let limits = adapter.limits();
        Self::from_adapter(&adapter, limits).await
    }

    /// [`GpuContext::best_where`], blocking.
    pub fn best_where_blocking(accept: impl Fn(&wgpu::AdapterInfo) -> bool) -> Result<Self> {
        pollster::block_on(Self::best_where(accept))
    }

    /// A context on `adapter`, with `limits` (at most the adapter's; smaller limits exercise
    /// windowed fills), requesting `SHADER_INT64` and `TIMESTAMP_QUERY` where the adapter has them.
    pub async fn from_adapter(adapter: &wgpu::Adapter, limits: wgpu::Limits) -> Result<Self> {
        let info = adapter.get_info();
        let wanted = wgpu::Features::SHADER_INT64 | wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("nninit"),
                required_features: adapter.features() & wanted,
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::DeviceRequest { adapter: describe(&info), message: e.to_string() })?;
        let filler = GpuFiller::new(&device, &queue).await?;
        Ok(Self { info, device, queue, filler })
    }

    /// [`GpuContext::from_adapter`], blocking.
    pub fn from_adapter_blocking(adapter: &wgpu::Adapter, limits: wgpu::Limits) -> Result<Self> {
        pollster::block_on(Self::from_adapter(adapter, limits))
    }
}
