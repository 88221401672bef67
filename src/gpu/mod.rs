//! Layer 3, the GPU engine: fills byte ranges of any `wgpu::Buffer` with WGSL compute kernels.
//!
//! [`GpuFiller`] holds the fill pipelines of the caller's device (and clones of its `Device` and
//! `Queue`, which are handles), built as [`FillerOptions`] ask (workgroup size, multiply);
//! [`GpuFiller::record`] records a fill into the caller's encoder and never waits. [`GpuContext`]
//! is a self-made device for the CLI and simple users. [`read_buffer`] brings a range back to the
//! host.
//!
//! Everything that waits for the GPU is an `async fn`, so it can be driven from async code and
//! from a browser; the `*_blocking` twins wait in `Device::poll` instead and are the only
//! functions here that block.
//!
//! Device features: with `SHADER_INT64` the kernels use the native 64-bit multiply; without it
//! an exact emulation from 16-bit halves runs, with the same results. `TIMESTAMP_QUERY` is used
//! only by `nninit bench`. No other feature, and the default limits, suffice.

mod context;
mod filler;
pub(crate) mod params;
pub(crate) mod shaders;
mod wait;
pub(crate) mod windows;

pub use context::{adapters, adapters_blocking, describe, GpuContext};
pub use filler::{FillerOptions, GpuFiller, GpuTarget, DEFAULT_WORKGROUP_SIZE};
pub use shaders::Multiply;

pub(crate) use wait::{callback, Callback, Waiting};

use crate::error::{Error, Result};

/// Bytes copied back per staging round trip in [`read_buffer`].
const READBACK_CHUNK: u64 = 64 << 20;

/// Creates a buffer after checking `size` against the device's `max_buffer_size`; running out of
/// memory comes back as [`Error::Gpu`] instead of wgpu's uncaptured-error panic.
///
/// ```no_run
/// # async fn demo(device: &wgpu::Device) -> nninit::Result<()> {
/// let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
/// let arena = nninit::gpu::create_buffer_checked(device, "weights", 1 << 30, usage).await?;
/// # Ok(()) }
/// ```
pub async fn create_buffer_checked(
    device: &wgpu::Device,
    label: &str,
    size: u64,
    usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer> {
    let max = device.limits().max_buffer_size;
    if size > max {
        return Err(Error::LimitExceeded(format!(
            "a buffer of {size} bytes ({:.2} GiB) exceeds max_buffer_size {max} ({:.2} GiB); split the tensor into shards or several buffers",
            size as f64 / (1u64 << 30) as f64,
            max as f64 / (1u64 << 30) as f64
        )));
    }
    let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.next_multiple_of(4),
        usage,
        mapped_at_creation: false,
    });
    match scope.pop().await {
        Some(error) => Err(Error::Gpu(format!("allocating {size} bytes: {error}"))),
        None => Ok(buffer),
    }
}

/// Records with `record` into a fresh encoder and submits it without waiting for the GPU;
/// wgpu's validation and out-of-memory errors come back as [`Error::Gpu`].
pub(crate) async fn submit_checked(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<wgpu::SubmissionIndex> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("nninit") });
    let recorded = record(&mut encoder);
    let index = recorded.as_ref().ok().map(|()| queue.submit([encoder.finish()]));
    let validation_error = validation.pop().await;
    let oom_error = oom.pop().await;
    recorded?;
    match (validation_error.or(oom_error), index) {
        (None, Some(index)) => Ok(index),
        (Some(error), _) => Err(Error::Gpu(error.to_string())),
        (None, None) => Err(Error::Gpu("nothing was submitted".into())),
    }
}

/// Copies bytes `range` of `buffer` (which needs `COPY_SRC`) to the host, through a bounded
/// staging buffer. Work submitted before it is finished first.
pub async fn read_buffer(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    range: std::ops::Range<u64>,
) -> Result<Vec<u8>> {
    read_buffer_waiting(device, queue, buffer, range, Waiting::Async).await
}

/// [`read_buffer`], blocking the calling thread until the bytes are back.
pub fn read_buffer_blocking(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    range: std::ops::Range<u64>,
) -> Result<Vec<u8>> {
    pollster::block_on(read_buffer_waiting(device, queue, buffer, range, Waiting::Blocking))
}

pub(crate) async fn read_buffer_waiting(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    range: std::ops::Range<u64>,
    waiting: Waiting,
) -> Result<Vec<u8>> {
    if range.start > range.end || range.end > buffer.size() {
        return Err(Error::InvalidTarget(format!(
            "read range {}..{} is outside the buffer's {} bytes",
            range.start,
            range.end,
            buffer.size()
        )));
    }
    if !buffer.usage().contains(wgpu::BufferUsages::COPY_SRC) {
        return Err(Error::InvalidTarget("the buffer lacks BufferUsages::COPY_SRC".into()));
    }
    // Copies move whole 4-byte words: widen the range, then cut it back.
    let start = range.start / 4 * 4;
    let end = range.end.next_multiple_of(4).min(buffer.size());
    let chunk = READBACK_CHUNK.min(end - start).max(4);
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("nninit readback"),
        size: chunk,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut out = Vec::new();
    out.try_reserve_exact((end - start) as usize)
        .map_err(|_| Error::OutOfMemory { what: format!("{} bytes to read back", end - start) })?;
    let mut at = start;
    while at < end {
        let n = chunk.min(end - at);
        let index = submit_checked(device, queue, |encoder| {
            encoder.copy_buffer_to_buffer(buffer, at, &staging, 0, n);
            Ok(())
        })
        .await?;
        let slice = staging.slice(0..n);
        let (mapped, map_done) = callback(device);
        slice.map_async(wgpu::MapMode::Read, mapped);
        waiting.wait(device, index, map_done).await?.map_err(|e| Error::Gpu(e.to_string()))?;
        {
            let view = slice.get_mapped_range().map_err(|e| Error::Gpu(e.to_string()))?;
            out.extend_from_slice(&view);
        }
        staging.unmap();
        at += n;
    }
    let skip = (range.start - start) as usize;
    out.drain(..skip);
    out.truncate((range.end - range.start) as usize);
    Ok(out)
}
