//! A self-made device: adapter discovery and choice for the CLI and simple users.

use super::filler::GpuFiller;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::fill::Fill;
use crate::planner::Plan;
use crate::prepared::{check_range, Prepared};
use crate::shard::Shard;
use crate::stream::Stream;

/// Largest device buffer [`GpuContext::fill_to_host`] allocates at once.
const HOST_FILL_CHUNK: u64 = 256 << 20;

/// Every adapter wgpu finds on this machine, on every backend.
pub fn adapters() -> Vec<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// One line naming an adapter: name, backend and device type.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// Preference order: discrete GPU, integrated GPU, Vulkan software, other GPUs, GL software.
fn rank(info: &wgpu::AdapterInfo) -> u32 {
    use wgpu::{Backend, DeviceType};
    match (info.device_type, info.backend) {
        (DeviceType::DiscreteGpu, _) => 0,
        (DeviceType::IntegratedGpu, _) => 1,
        (DeviceType::Cpu, Backend::Vulkan) => 2,
        (DeviceType::VirtualGpu | DeviceType::Other, _) => 3,
        (DeviceType::Cpu, _) => 4,
    }
}

/// A device and queue of nninit's own, with its [`GpuFiller`].
///
/// ```no_run
/// use nninit::{gpu::{FillTarget, GpuContext}, Fill, Scheme, Stream};
/// let gpu = GpuContext::new()?;
/// let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
///     label: None,
///     size: 4096,
///     usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
///     mapped_at_creation: false,
/// });
/// let fill = Fill::new(&Scheme::uniform(-0.1, 0.1)?, Stream::new(7, 0));
/// gpu.filler.fill(&gpu.device, &gpu.queue, &FillTarget::whole(&buffer), &fill)?;
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
    /// A context on the best adapter: a discrete GPU, then an integrated one, then Vulkan
    /// software (lavapipe), then GL.
    pub fn new() -> Result<Self> {
        Self::best_where(|_| true)
    }

    /// A context on the best adapter whose name or backend contains `pattern` (case-insensitive).
    pub fn matching(pattern: &str) -> Result<Self> {
        let pattern = pattern.to_lowercase();
        Self::best_where(|info| {
            info.name.to_lowercase().contains(&pattern)
                || format!("{:?}", info.backend).to_lowercase().contains(&pattern)
        })
    }

    /// A context on the best adapter (in [`GpuContext::new`]'s order) that `accept` takes;
    /// [`Error::NoAdapter`] when there is none.
    pub fn best_where(accept: impl Fn(&wgpu::AdapterInfo) -> bool) -> Result<Self> {
        let mut found: Vec<_> = adapters().into_iter().filter(|a| accept(&a.get_info())).collect();
        found.sort_by_key(|a| rank(&a.get_info()));
        let adapter = found.into_iter().next().ok_or_else(|| {
            Error::NoAdapter("install a Vulkan or GL driver (e.g. mesa-vulkan-drivers), or use --device cpu".into())
        })?;
        Self::from_adapter(&adapter, adapter.limits())
    }

    /// A context on `adapter`, with `limits` (at most the adapter's). Smaller limits are useful
    /// to exercise windowed fills.
    pub fn from_adapter(adapter: &wgpu::Adapter, limits: wgpu::Limits) -> Result<Self> {
        let info = adapter.get_info();
        let wanted = wgpu::Features::SHADER_INT64 | wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("nninit"),
            required_features: adapter.features() & wanted,
            required_limits: limits,
            ..Default::default()
        }))
        .map_err(|e| Error::DeviceRequest { adapter: describe(&info), message: e.to_string() })?;
        let filler = GpuFiller::new(&device)?;
        Ok(Self { info, device, queue, filler })
    }

    /// Fills logical elements `elements` on the GPU and copies them to host memory, through a
    /// device buffer of bounded size (at most 256 MiB, and within the adapter's limits).
    pub fn fill_to_host(&self, fill: &Fill, elements: std::ops::Range<u64>) -> Result<Vec<u32>> {
        let bytes = self.prepared_to_host(&Prepared::Elementwise(*fill), elements, Dtype::F32)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// Initializes logical elements `elements` of a planned tensor on the GPU and copies them to
    /// host memory as f32 bit patterns, as [`GpuContext::fill_to_host`]; host-side work is done once.
    pub fn init_to_host(&self, plan: &Plan, stream: Stream, elements: std::ops::Range<u64>) -> Result<Vec<u32>> {
        let bytes = self.init_to_host_as(plan, stream, elements, Dtype::F32)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// Initializes logical elements `elements` of a planned tensor on the GPU and copies them to
    /// host memory as little-endian bytes of `dtype`.
    pub fn init_to_host_as(
        &self,
        plan: &Plan,
        stream: Stream,
        elements: std::ops::Range<u64>,
        dtype: Dtype,
    ) -> Result<Vec<u8>> {
        let count = elements.end.saturating_sub(elements.start);
        check_range(elements.start, count, plan.elements())?;
        self.prepared_to_host(&Prepared::new(plan, stream)?, elements, dtype)
    }

    /// Initializes a shard of a planned tensor on the GPU and copies it to host memory as
    /// little-endian bytes of `dtype`, in the shard's own row-major order.
    pub fn shard_to_host(&self, plan: &Plan, stream: Stream, shard: &Shard, dtype: Dtype) -> Result<Vec<u8>> {
        let segments = shard.segments(&plan.shape)?;
        self.segments_to_host(&Prepared::new(plan, stream)?, &segments, dtype)
    }

    fn prepared_to_host(&self, prepared: &Prepared, elements: std::ops::Range<u64>, dtype: Dtype) -> Result<Vec<u8>> {
        self.segments_to_host(prepared, &[elements], dtype)
    }

    /// Fills `segments` in batches through one bounded device buffer and reads each batch back.
    fn segments_to_host(
        &self,
        prepared: &Prepared,
        segments: &[std::ops::Range<u64>],
        dtype: Dtype,
    ) -> Result<Vec<u8>> {
        let size = dtype.size();
        let count: u64 = segments.iter().map(|s| s.end.saturating_sub(s.start)).sum();
        let mut out = Vec::new();
        out.try_reserve_exact((count * size) as usize)
            .map_err(|e| Error::LimitExceeded(format!("{count} elements do not fit host memory: {e}")))?;
        let max_bytes = HOST_FILL_CHUNK.min(self.device.limits().max_buffer_size) / 4 * 4;
        let chunk_bytes = (count * size).next_multiple_of(4).min(max_bytes).max(4);
        let capacity = chunk_bytes / size;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("nninit host fill"),
            size: chunk_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        // Cut the segments into batches of at most `capacity` elements.
        let mut batch: Vec<std::ops::Range<u64>> = Vec::new();
        let mut in_batch = 0u64;
        let mut pending = segments.iter().filter(|s| !s.is_empty()).cloned().collect::<std::collections::VecDeque<_>>();
        while let Some(segment) = pending.pop_front() {
            let take = (segment.end - segment.start).min(capacity - in_batch);
            batch.push(segment.start..segment.start + take);
            in_batch += take;
            if take < segment.end - segment.start {
                pending.push_front(segment.start + take..segment.end);
            }
            if in_batch == capacity || pending.is_empty() {
                super::submit_and_wait(&self.device, &self.queue, |encoder| {
                    self.filler.record_segments(&self.device, encoder, &buffer, 0, dtype, &batch, prepared)
                })?;
                out.extend(super::read_buffer(&self.device, &self.queue, &buffer, 0..in_batch * size)?);
                batch.clear();
                in_batch = 0;
            }
        }
        Ok(out)
    }
}
