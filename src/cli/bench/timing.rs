//! Timing GPU work: wall-clock time of a submission (recording, submit and wait included), and,
//! where the device has `TIMESTAMP_QUERY`, the GPU's own time between timestamps written just
//! before and just after the recorded work, which leaves submission overhead out.

use std::time::Instant;

use nninit::Result;

/// How long one submission took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Seconds from recording to the GPU finishing (what a caller waits).
    pub wall: f64,
    /// Seconds between the GPU timestamps around the work, where the device has timestamps.
    pub gpu: Option<f64>,
}

/// Timestamp queries on one device: two empty compute passes bracket the work, one writing a
/// timestamp at its start, one at its end.
#[derive(Debug)]
pub struct GpuTimer {
    queries: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    period_ns: f64,
}

impl GpuTimer {
    /// A timer for `device`; it measures wall time only when the device lacks `TIMESTAMP_QUERY`.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        let queries = device.features().contains(wgpu::Features::TIMESTAMP_QUERY).then(|| {
            let set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("nninit timer"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolved = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("nninit timestamps"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (set, resolved)
        });
        Self { queries, period_ns: queue.get_timestamp_period() as f64 }
    }

    /// Records `record` between the timestamps, submits, waits, and reads the timestamps back.
    pub fn time(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<()>,
    ) -> Result<Timing> {
        let started = Instant::now();
        let mut encoder = device.create_command_encoder(&Default::default());
        self.stamp(&mut encoder, 0);
        record(&mut encoder)?;
        self.stamp(&mut encoder, 1);
        if let Some((set, resolved)) = &self.queries {
            encoder.resolve_query_set(set, 0..2, resolved, 0);
        }
        let index = queue.submit([encoder.finish()]);
        let until = wgpu::PollType::Wait { submission_index: Some(index), timeout: None };
        device.poll(until).map_err(|e| nninit::Error::Gpu(e.to_string()))?;
        let wall = started.elapsed().as_secs_f64();
        let gpu = match &self.queries {
            Some((_, resolved)) => {
                let bytes = nninit::gpu::read_buffer_blocking(device, queue, resolved, 0..16)?;
                let stamps: [u64; 2] = bytemuck::pod_read_unaligned(&bytes);
                Some(stamps[1].saturating_sub(stamps[0]) as f64 * self.period_ns * 1e-9)
            }
            None => None,
        };
        Ok(Timing { wall, gpu })
    }

    /// An empty compute pass that writes timestamp `index` (at its start for 0, its end for 1).
    fn stamp(&self, encoder: &mut wgpu::CommandEncoder, index: u32) {
        if let Some((set, _)) = &self.queries {
            let writes = wgpu::ComputePassTimestampWrites {
                query_set: set,
                beginning_of_pass_write_index: (index == 0).then_some(0),
                end_of_pass_write_index: (index == 1).then_some(1),
            };
            drop(encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("nninit timestamp"),
                timestamp_writes: Some(writes),
            }));
        }
    }
}
