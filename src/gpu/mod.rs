//! The GPU engine: fills byte ranges of any `wgpu::Buffer` with WGSL compute kernels.
//!
//! [`GpuFiller`] borrows the caller's device; [`GpuContext`] is a self-made device for the CLI and
//! simple users. [`read_buffer`] brings a range back to the host.

mod context;
mod filler;
mod params;
pub mod shaders;
mod timing;
pub mod windows;

pub use context::{adapters, describe, GpuContext};
pub use filler::{FillTarget, GpuFiller};
pub use params::{FillParams, FILL_PARAMS_OFFSETS};
pub use shaders::Multiply;
pub use timing::{GpuTimer, Timing};

use crate::error::{Error, Result};

/// Bytes copied back per staging round trip in [`read_buffer`].
const READBACK_CHUNK: u64 = 64 << 20;

/// Creates a buffer after checking `size` against the device's `max_buffer_size`; running out of
/// memory comes back as [`Error::Gpu`] instead of wgpu's uncaptured-error panic.
///
/// ```no_run
/// # fn demo(device: &wgpu::Device) -> nninit::Result<()> {
/// let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
/// let arena = nninit::gpu::create_buffer_checked(device, "weights", 1 << 30, usage)?;
/// # Ok(()) }
/// ```
pub fn create_buffer_checked(
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
    match pollster::block_on(scope.pop()) {
        Some(error) => Err(Error::Gpu(format!("allocating {size} bytes: {error}"))),
        None => Ok(buffer),
    }
}

/// Records with `record` into a fresh encoder, submits, waits, and turns wgpu's validation and
/// out-of-memory errors into [`Error::Gpu`].
pub fn submit_and_wait(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<()> {
    let index = submit_checked(device, queue, record)?;
    wait_for(device, index)
}

/// Records with `record` into a fresh encoder and submits it without waiting; wgpu's validation
/// and out-of-memory errors come back as [`Error::Gpu`].
pub fn submit_checked(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<wgpu::SubmissionIndex> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("nninit") });
    let recorded = record(&mut encoder);
    let index = recorded.as_ref().ok().map(|()| queue.submit([encoder.finish()]));
    let validation_error = pollster::block_on(validation.pop());
    let oom_error = pollster::block_on(oom.pop());
    recorded?;
    if let Some(error) = validation_error.or(oom_error) {
        return Err(Error::Gpu(error.to_string()));
    }
    Ok(index.expect("submitted when recorded"))
}

/// Blocks until submission `index` has finished and its callbacks (buffer mappings) have run.
pub fn wait_for(device: &wgpu::Device, index: wgpu::SubmissionIndex) -> Result<()> {
    device
        .poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: None })
        .map(|_| ())
        .map_err(|e| Error::Gpu(e.to_string()))
}

/// Copies bytes `range` of `buffer` (which needs `COPY_SRC`) to the host, through a bounded
/// staging buffer.
pub fn read_buffer(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    range: std::ops::Range<u64>,
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
    let mut out = Vec::with_capacity((end - start) as usize);
    let mut at = start;
    while at < end {
        let n = chunk.min(end - at);
        submit_and_wait(device, queue, |encoder| {
            encoder.copy_buffer_to_buffer(buffer, at, &staging, 0, n);
            Ok(())
        })?;
        let slice = staging.slice(0..n);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Gpu(e.to_string()))?;
        receiver.recv().map_err(|e| Error::Gpu(e.to_string()))?.map_err(|e| Error::Gpu(e.to_string()))?;
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
