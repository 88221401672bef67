//! `GpuFiller`: the fill pipelines of one device, and the calls that record fills.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use wgpu::util::DeviceExt;

use super::params::FillParams;
use super::shaders::{self, Multiply};
use super::windows::{split_windows, Window, WindowLimits};
use super::Waiting;
use crate::contract::constants::KernelOp;
use crate::contract::dtype::Dtype;
use crate::contract::op::Op;
use crate::contract::stream::split_u64;
use crate::error::{Error, Result};
use crate::scheme::{Fill, Prepared, Region};

/// Largest device buffer [`GpuFiller::fill_to_host`] allocates at once.
const HOST_FILL_CHUNK: u64 = 256 << 20;

/// Bytes of one copied source element (orthogonal matrices are uploaded as f32).
const SOURCE_BYTES: u64 = 4;

/// Invocations per workgroup unless [`FillerOptions::workgroup_size`] says otherwise (or the
/// device allows fewer). On lavapipe and llvmpipe GL, 32, 64, 128 and 256 measured within each
/// other's noise (`nninit bench --quick`, alternating runs); 256 is the common choice for
/// memory-bound kernels on hardware GPUs, and every WebGPU device allows it.
pub const DEFAULT_WORKGROUP_SIZE: u32 = 256;

/// How a [`GpuFiller`] builds its pipelines; the default chooses for the device.
///
/// The values written never depend on these choices, only the speed does.
///
/// ```no_run
/// # async fn demo(device: &wgpu::Device, queue: &wgpu::Queue) -> nninit::Result<()> {
/// use nninit::gpu::{FillerOptions, GpuFiller};
/// let options = FillerOptions { workgroup_size: Some(64), ..Default::default() };
/// let filler = GpuFiller::with_options(device, queue, options).await?;
/// assert_eq!(filler.workgroup_size(), 64);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillerOptions {
    /// Philox's 32x32 -> 64-bit multiply; `None`: [`Multiply::best_for`] the device.
    pub multiply: Option<Multiply>,
    /// Invocations per workgroup (the kernel's `WG_SIZE` override constant), at least 1 and
    /// within the device's `max_compute_invocations_per_workgroup` and
    /// `max_compute_workgroup_size_x`; `None`: [`DEFAULT_WORKGROUP_SIZE`], or the device's limit
    /// where that is lower.
    pub workgroup_size: Option<u32>,
}

impl FillerOptions {
    /// The workgroup size these options give on a device with `limits`, or the error
    /// [`GpuFiller::with_options`] returns for them: [`Error::InvalidParameter`] for 0
    /// invocations, [`Error::LimitExceeded`] beyond the device's limits.
    pub fn workgroup_size_for(&self, limits: &wgpu::Limits) -> Result<u32> {
        let most = limits.max_compute_invocations_per_workgroup.min(limits.max_compute_workgroup_size_x);
        match self.workgroup_size {
            None => Ok(DEFAULT_WORKGROUP_SIZE.min(most)),
            Some(0) => Err(Error::InvalidParameter("a workgroup needs at least 1 invocation".into())),
            Some(n) if n > most => Err(Error::LimitExceeded(format!(
                "a workgroup of {n} invocations, where the device allows at most {most} \
                 (max_compute_invocations_per_workgroup {}, max_compute_workgroup_size_x {})",
                limits.max_compute_invocations_per_workgroup, limits.max_compute_workgroup_size_x
            ))),
            Some(n) => Ok(n),
        }
    }
}

/// A contiguous run of logical elements written from `byte_offset`; `source_index` is where its
/// first element sits in a copy source.
#[derive(Clone, Debug)]
struct Span {
    byte_offset: u64,
    elements: Range<u64>,
    source_index: u64,
}

/// A second, read-only input of a fill.
#[derive(Clone, Copy, Debug)]
enum Aux<'a> {
    /// Nothing: a placeholder buffer is bound.
    None,
    /// Copy words from `source`; each piece says where its first element's word is.
    Copy { source: &'a wgpu::Buffer },
    /// Normal values, zeroed by a bitmap over the tensor's elements: bit `i` set marks element `i`
    /// as zero when `zeros_marked`, as non-zero otherwise.
    Mask { bits: &'a wgpu::Buffer, zeros_marked: bool, std: f32 },
}

/// Where a fill writes on the GPU: a region of the tensor, as `dtype`, packed from `byte_offset`
/// of a caller's buffer.
///
/// Element after element of the region is written at `byte_offset`, `byte_offset + size`, ...,
/// so a shard of a larger logical tensor is filled with exactly its slice of the stream. For
/// 16-bit dtypes, the other half of a 32-bit word shared with the range's ends is left as it was.
#[derive(Clone, Debug)]
pub struct GpuTarget<'a> {
    /// The buffer; it needs `BufferUsages::STORAGE`.
    pub buffer: &'a wgpu::Buffer,
    /// Byte offset of the region's first element (a multiple of the dtype's size).
    pub byte_offset: u64,
    /// Which elements of the tensor.
    pub region: Region,
    /// The element type written.
    pub dtype: Dtype,
}

impl<'a> GpuTarget<'a> {
    /// The whole tensor as `dtype`, from the start of `buffer`.
    pub fn new(buffer: &'a wgpu::Buffer, dtype: Dtype) -> Self {
        Self { buffer, byte_offset: 0, region: Region::All, dtype }
    }
}

/// Checks that `count` elements of `dtype` at `byte_offset` fit `buffer`, which needs `STORAGE`.
fn check_target(buffer: &wgpu::Buffer, byte_offset: u64, count: u64, dtype: Dtype) -> Result<()> {
    if !buffer.usage().contains(wgpu::BufferUsages::STORAGE) {
        return Err(Error::InvalidTarget("the buffer lacks BufferUsages::STORAGE".into()));
    }
    let size = dtype.size();
    if !byte_offset.is_multiple_of(size) {
        return Err(Error::InvalidTarget(format!("byte offset {byte_offset} is not a multiple of {size}")));
    }
    let end = count.checked_mul(size).and_then(|bytes| bytes.checked_add(byte_offset));
    match end {
        Some(end) if end.next_multiple_of(4) <= buffer.size() => Ok(()),
        _ => Err(Error::InvalidTarget(format!(
            "{count} elements at byte {byte_offset} overrun the buffer's {} bytes",
            buffer.size()
        ))),
    }
}

/// The fill pipelines of one device, created once and reused for every fill, with clones of the
/// device's and queue's handles.
///
/// An engine makes one on its own device and records fills into its own encoders:
///
/// ```no_run
/// # async fn demo(device: &wgpu::Device, queue: &wgpu::Queue, buffer: &wgpu::Buffer) -> nninit::Result<()> {
/// use nninit::{gpu::{GpuFiller, GpuTarget}, Dtype, Fill, Scheme, Stream};
/// let filler = GpuFiller::new(device, queue).await?;
/// let fill = Fill::new(&Scheme::normal(0.0, 0.02)?, &[1024, 1024], Stream::new(42, 0))?;
/// let mut encoder = device.create_command_encoder(&Default::default());
/// filler.record(&mut encoder, &fill, &GpuTarget::new(buffer, Dtype::Bf16))?;
/// queue.submit([encoder.finish()]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GpuFiller {
    device: wgpu::Device,
    queue: wgpu::Queue,
    multiply: Multiply,
    layout: wgpu::BindGroupLayout,
    module: wgpu::ShaderModule,
    /// The fill pipelines by operation and stored dtype.
    pipelines: HashMap<(KernelOp, Dtype), wgpu::ComputePipeline>,
    /// The 16-bit pipelines for windows that straddle Philox blocks (the kernel's `STRADDLE`), for
    /// the operations that draw blocks: made on first use, since most fills never need one and
    /// a software adapter takes about 0.1 s to build each.
    straddling: HashMap<(KernelOp, Dtype), OnceLock<wgpu::ComputePipeline>>,
    kat_layout: wgpu::BindGroupLayout,
    kat_pipeline: wgpu::ComputePipeline,
    limits: WindowLimits,
    uniform_stride: u64,
    no_aux: wgpu::Buffer,
}

impl GpuFiller {
    /// The pipelines for `device`, with native 64-bit multiplies where the device has
    /// `SHADER_INT64` and the exact emulation otherwise.
    pub async fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Result<Self> {
        Self::with_options(device, queue, FillerOptions::default()).await
    }

    /// [`GpuFiller::new`], blocking.
    pub fn new_blocking(device: &wgpu::Device, queue: &wgpu::Queue) -> Result<Self> {
        pollster::block_on(Self::new(device, queue))
    }

    /// The pipelines for `device` with a chosen multiply (`Native` needs `SHADER_INT64`).
    pub async fn with_multiply(device: &wgpu::Device, queue: &wgpu::Queue, multiply: Multiply) -> Result<Self> {
        Self::with_options(device, queue, FillerOptions { multiply: Some(multiply), ..Default::default() }).await
    }

    /// [`GpuFiller::with_options`], blocking.
    pub fn with_options_blocking(device: &wgpu::Device, queue: &wgpu::Queue, options: FillerOptions) -> Result<Self> {
        pollster::block_on(Self::with_options(device, queue, options))
    }

    /// The pipelines for `device` as `options` ask: [`Error::LimitExceeded`] for a native
    /// multiply without `SHADER_INT64` or a workgroup beyond the device's limits,
    /// [`Error::InvalidParameter`] for a workgroup of 0 invocations.
    pub async fn with_options(device: &wgpu::Device, queue: &wgpu::Queue, options: FillerOptions) -> Result<Self> {
        let multiply = options.multiply.unwrap_or_else(|| Multiply::best_for(device));
        if multiply == Multiply::Native && !device.features().contains(wgpu::Features::SHADER_INT64) {
            return Err(Error::LimitExceeded("the native multiply needs the SHADER_INT64 feature".into()));
        }
        let device_limits = device.limits();
        let workgroup_size = options.workgroup_size_for(&device_limits)?;
        let limits = WindowLimits {
            max_binding: device_limits.max_storage_buffer_binding_size / 4 * 4,
            offset_alignment: u64::from(device_limits.min_storage_buffer_offset_alignment),
            max_groups_per_dim: device_limits.max_compute_workgroups_per_dimension,
            workgroup_size,
        };
        let uniform_stride = (std::mem::size_of::<FillParams>() as u64)
            .next_multiple_of(u64::from(device_limits.min_uniform_buffer_offset_alignment));

        // A shader or pipeline error becomes an `Error`, not wgpu's uncaptured-error panic.
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("nninit fill"),
            entries: &[storage_entry(0, false), uniform_entry(1), storage_entry(2, true)],
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("nninit fill"),
            source: wgpu::ShaderSource::Wgsl(shaders::fill_module(multiply).into()),
        });
        // Per op and stored dtype: the f32 kernel and the two 16-bit ones, each with only its own
        // encoder.
        let keys = || KernelOp::ALL.iter().flat_map(|&op| Dtype::ALL.map(move |dtype| (op, dtype)));
        let pipelines = keys()
            .map(|(op, dtype)| ((op, dtype), fill_pipeline(device, &layout, &module, op, dtype, false, workgroup_size)))
            .collect();
        let straddling = keys()
            .filter(|&(op, dtype)| op.draws_blocks() && dtype != Dtype::F32)
            .map(|key| (key, OnceLock::new()))
            .collect();

        let kat_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("nninit philox_kat"),
            entries: &[storage_entry(0, false)],
        });
        let kat_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("nninit philox_kat"),
            source: wgpu::ShaderSource::Wgsl(shaders::philox_kat_module(multiply).into()),
        });
        let kat_pipeline = compute_pipeline(device, &kat_layout, &kat_module, "philox_kat", &[]);
        if let Some(error) = scope.pop().await {
            return Err(Error::Gpu(format!("building the fill pipelines: {error}")));
        }
        let no_aux = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("nninit no aux"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Ok(Self {
            device: device.clone(),
            queue: queue.clone(),
            multiply,
            layout,
            pipelines,
            kat_layout,
            kat_pipeline,
            module,
            straddling,
            limits,
            uniform_stride,
            no_aux,
        })
    }

    /// The multiply these pipelines use.
    pub fn multiply(&self) -> Multiply {
        self.multiply
    }

    /// Invocations per workgroup of the fill pipelines.
    pub fn workgroup_size(&self) -> u32 {
        self.limits.workgroup_size
    }

    /// The device the pipelines belong to.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Records `fill` into `target` on the caller's encoder: no submit, no wait.
    ///
    /// Element-wise schemes run entirely on the GPU; orthogonal's matrix (computed by
    /// [`Fill::new`]) is uploaded and copied by the kernel; sparse's mask likewise, the kernel
    /// writing the normal values and the zeros. Parameters and uploads go into buffers of their
    /// own, created mapped, so recording several fills before one submit is safe. An empty region
    /// records nothing.
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, fill: &Fill, target: &GpuTarget<'_>) -> Result<()> {
        let segments = fill.segments(&target.region)?;
        let count = segments.iter().map(|s| s.end - s.start).sum();
        check_target(target.buffer, target.byte_offset, count, target.dtype)?;
        self.record_segments(encoder, target.buffer, target.byte_offset, target.dtype, &segments, fill)
    }

    /// Fills `region` of `fill` on the GPU and copies it to host memory as little-endian `dtype`,
    /// through a device buffer of bounded size (at most 256 MiB, and within the device's limits).
    pub async fn fill_to_host(&self, fill: &Fill, region: &Region, dtype: Dtype) -> Result<Vec<u8>> {
        self.fill_to_host_waiting(fill, region, dtype, Waiting::Async).await
    }

    /// [`GpuFiller::fill_to_host`], blocking.
    pub fn fill_to_host_blocking(&self, fill: &Fill, region: &Region, dtype: Dtype) -> Result<Vec<u8>> {
        pollster::block_on(self.fill_to_host_waiting(fill, region, dtype, Waiting::Blocking))
    }

    /// Fills `region` of `fill` on the GPU and hands it to `sink` in order, as little-endian
    /// `dtype`, in pieces of at most `piece_bytes` (and within the device's limits): host memory
    /// stays bounded whatever the region's size.
    pub async fn fill_streamed(
        &self,
        fill: &Fill,
        region: &Region,
        dtype: Dtype,
        piece_bytes: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.fill_pieces(fill, fill.segments(region)?, dtype, piece_bytes, Waiting::Async, sink).await
    }

    /// [`GpuFiller::fill_streamed`], blocking.
    pub fn fill_streamed_blocking(
        &self,
        fill: &Fill,
        region: &Region,
        dtype: Dtype,
        piece_bytes: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let segments = fill.segments(region)?;
        pollster::block_on(self.fill_pieces(fill, segments, dtype, piece_bytes, Waiting::Blocking, sink))
    }

    async fn fill_to_host_waiting(
        &self,
        fill: &Fill,
        region: &Region,
        dtype: Dtype,
        waiting: Waiting,
    ) -> Result<Vec<u8>> {
        let segments = fill.segments(region)?;
        let count: u64 = segments.iter().map(|s| s.end - s.start).sum();
        let bytes = count
            .checked_mul(dtype.size())
            .filter(|&b| b <= isize::MAX as u64)
            .ok_or_else(|| Error::OutOfMemory { what: format!("host memory for {count} elements") })?;
        let mut out = Vec::new();
        out.try_reserve_exact(bytes as usize)
            .map_err(|_| Error::OutOfMemory { what: format!("{bytes} bytes of host memory for {count} elements") })?;
        let mut sink = |piece: &[u8]| {
            out.extend_from_slice(piece);
            Ok(())
        };
        self.fill_pieces(fill, segments, dtype, HOST_FILL_CHUNK, waiting, &mut sink).await?;
        Ok(out)
    }

    /// Fills the logical element ranges `segments` of `fill` in batches through one bounded
    /// device buffer and reads each batch back.
    async fn fill_pieces(
        &self,
        fill: &Fill,
        segments: Vec<Range<u64>>,
        dtype: Dtype,
        piece_bytes: u64,
        waiting: Waiting,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let size = dtype.size();
        let count: u64 = segments.iter().map(|s| s.end - s.start).sum();
        let bytes = count.saturating_mul(size);
        let max_bytes = piece_bytes.min(self.device.limits().max_buffer_size) / 8 * 8;
        let chunk_bytes = bytes.next_multiple_of(4).min(max_bytes).max(8);
        let capacity = chunk_bytes / size;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        let buffer = super::create_buffer_checked(&self.device, "nninit host fill", chunk_bytes, usage).await?;
        for batch in crate::scheme::batches(segments, capacity) {
            let in_batch: u64 = batch.iter().map(|s| s.end - s.start).sum();
            super::submit_checked(&self.device, &self.queue, |encoder| {
                self.record_segments(encoder, &buffer, 0, dtype, &batch, fill)
            })
            .await?;
            let read = super::read_buffer_waiting(&self.device, &self.queue, &buffer, 0..in_batch * size, waiting);
            sink(&read.await?)?;
        }
        Ok(())
    }

    /// Records the logical element ranges `segments` of `fill`, written one after the other from
    /// `byte_offset` as `dtype`, so the buffer holds them as a dense tensor. All go into one
    /// compute pass.
    pub(crate) fn record_segments(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        dtype: Dtype,
        segments: &[Range<u64>],
        fill: &Fill,
    ) -> Result<()> {
        // The scheme's spans, and those of the zero row (written by the constant kernel).
        let (mut spans, mut zero_spans) = (Vec::with_capacity(segments.len()), Vec::new());
        let (mut done, mut drawn) = (0u64, 0u64);
        for segment in segments {
            for (piece, zeroed) in fill.cut_at_zero_row(segment) {
                let offset = done
                    .checked_mul(dtype.size())
                    .and_then(|b| b.checked_add(byte_offset))
                    .ok_or_else(|| Error::InvalidTarget("shard offset overflows".into()))?;
                let count = piece.end - piece.start;
                if zeroed {
                    zero_spans.push(Span { byte_offset: offset, elements: piece, source_index: 0 });
                } else {
                    spans.push(Span { byte_offset: offset, elements: piece, source_index: drawn });
                    drawn += count;
                }
                done += count;
            }
        }
        if !zero_spans.is_empty() {
            let zero = Op::Constant { val: 0.0 };
            self.record_elementwise(encoder, buffer, dtype, &zero_spans, &zero, fill.stream())?;
        }
        let words = fill.stream();
        match fill.prepared() {
            Prepared::Elementwise(op) => self.record_elementwise(encoder, buffer, dtype, &spans, op, words),
            Prepared::Values(values) => {
                let mut picked: Vec<f32> = Vec::new();
                picked.try_reserve_exact(drawn as usize).map_err(|_| Error::OutOfMemory {
                    what: format!("{} bytes to upload {drawn} values", drawn * 4),
                })?;
                for span in &spans {
                    let range = span.elements.start as usize..span.elements.end as usize;
                    let part = values.get(range.clone()).ok_or_else(|| {
                        Error::InvalidShape(format!("elements {range:?} are outside the {} values", values.len()))
                    })?;
                    picked.extend_from_slice(part);
                }
                let source = upload(&self.device, "nninit values", bytemuck::cast_slice(&picked));
                self.record_windows(encoder, buffer, dtype, &spans, &Op::Bits, words, Aux::Copy { source: &source })
            }
            Prepared::Sparse { op, mask } => {
                let bits = upload(&self.device, "nninit sparse mask", bytemuck::cast_slice(&mask.bits));
                let Op::Normal { std, .. } = *op else {
                    return Err(Error::InvalidParameter("sparse values must be normal".into()));
                };
                let aux = Aux::Mask { bits: &bits, zeros_marked: mask.zeros_marked, std };
                self.record_windows(encoder, buffer, dtype, &spans, op, words, aux)
            }
            Prepared::Nothing => Ok(()),
        }
    }

    /// Records the element-wise `op` (no auxiliary input) over `spans` as `dtype`. A 16-bit
    /// constant writes each long span's whole 32-bit words as a word pattern (both halves the
    /// value), through the f32 kernel, and only the span's ends as half-words.
    fn record_elementwise(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        dtype: Dtype,
        spans: &[Span],
        op: &Op,
        stream: crate::Stream,
    ) -> Result<()> {
        let (Op::Constant { val }, Dtype::F16 | Dtype::Bf16) = (op, dtype) else {
            return self.record_windows(encoder, buffer, dtype, spans, op, stream, Aux::None);
        };
        let half = dtype.encode(val.to_bits());
        let pattern = Op::Constant { val: f32::from_bits(half | half << 16) };
        let (halves, words) = split_into_words(spans);
        self.record_windows(encoder, buffer, dtype, &halves, op, stream, Aux::None)?;
        self.record_windows(encoder, buffer, Dtype::F32, &words, &pattern, stream, Aux::None)
    }

    /// Records `op` over `spans` as `dtype`, one window after another in one compute pass.
    #[allow(clippy::too_many_arguments)]
    fn record_windows(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        dtype: Dtype,
        spans: &[Span],
        op: &Op,
        stream: crate::Stream,
        aux: Aux<'_>,
    ) -> Result<()> {
        // Every span's windows, with the copy-source index of each window's first element.
        let mut windows = Vec::new();
        for span in spans {
            let count = span.elements.end - span.elements.start;
            check_target(buffer, span.byte_offset, count, dtype)?;
            let first = span.elements.start;
            let planned = split_windows(span.byte_offset, first, count, dtype.size(), &self.limits)?;
            windows.extend(planned.into_iter().map(|w| (w, span.source_index + (w.first_element - first))));
        }
        if windows.is_empty() {
            return Ok(());
        }
        let (mut kernel_op, mut f, mut u) = op_parameters(op)?;
        match aux {
            Aux::None => {}
            Aux::Copy { .. } => kernel_op = KernelOp::Copy,
            Aux::Mask { zeros_marked, std, .. } => {
                kernel_op = KernelOp::Sparse;
                f[0] = [0.0, std, 0.0, 0.0];
                u[0][1] = u32::from(zeros_marked);
            }
        }
        let device = &self.device;
        let mut aux_bindings = Vec::with_capacity(windows.len());
        let stride = self.uniform_stride as usize;
        let mut uniform_bytes = vec![0u8; stride * windows.len()];
        let mut window_pipelines = Vec::with_capacity(windows.len());
        for (i, (w, source_index)) in windows.iter().enumerate() {
            // f32 windows are always block-aligned (lead = first % 4); 16-bit ones may not be.
            let (first_block, shift) = slot_origin(w);
            window_pipelines.push(self.pipeline(kernel_op, dtype, shift != 0)?);
            if let Op::Diagonal(d) = op {
                u[1] = diagonal_window_start(d, w.first_element)?;
            }
            let (aux_buffer, aux_offset, aux_size, aux_start) = self.aux_window(aux, w, *source_index)?;
            u[0][0] = aux_start.unwrap_or(u[0][0]);
            aux_bindings.push((aux_buffer, aux_offset, aux_size));
            let params = FillParams {
                key: stream.key(),
                stream: split_u64(stream.stream),
                first_element: split_u64(w.first_element),
                lead: w.lead,
                count: w.count,
                dst_word: w.dst_word,
                invocations: w.invocations,
                groups_x: w.groups.0,
                opaque_zero: 0,
                shift,
                first_block: split_u64(first_block),
                padding: 0,
                f,
                u,
            };
            uniform_bytes[i * stride..i * stride + std::mem::size_of::<FillParams>()]
                .copy_from_slice(bytemuck::bytes_of(&params));
        }
        let uniforms = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("nninit fill params"),
            contents: &uniform_bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_groups: Vec<_> = windows
            .iter()
            .enumerate()
            .map(|(i, (w, _))| {
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("nninit fill window"),
                    layout: &self.layout,
                    entries: &[
                        buffer_entry(0, buffer, w.bind_offset, w.bind_size),
                        buffer_entry(
                            1,
                            &uniforms,
                            i as u64 * self.uniform_stride,
                            std::mem::size_of::<FillParams>() as u64,
                        ),
                        buffer_entry(2, aux_bindings[i].0, aux_bindings[i].1, aux_bindings[i].2),
                    ],
                })
            })
            .collect();
        let mut pass = encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("nninit fill"), timestamp_writes: None });
        let mut current: Option<&wgpu::ComputePipeline> = None;
        for (((w, _), bind_group), pipeline) in windows.iter().zip(&bind_groups).zip(window_pipelines) {
            if !current.is_some_and(|set| std::ptr::eq(set, pipeline)) {
                pass.set_pipeline(pipeline);
                current = Some(pipeline);
            }
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(w.groups.0, w.groups.1, 1);
        }
        Ok(())
    }

    /// The pipeline for `op` into `dtype`, for windows whose slots start `straddle`-ing Philox
    /// blocks; a straddling one is made on first use.
    fn pipeline(&self, op: KernelOp, dtype: Dtype, straddle: bool) -> Result<&wgpu::ComputePipeline> {
        let Some(cell) = self.straddling.get(&(op, dtype)).filter(|_| straddle) else {
            return Ok(&self.pipelines[&(op, dtype)]);
        };
        if let Some(pipeline) = cell.get() {
            return Ok(pipeline);
        }
        let (device, workgroup_size) = (&self.device, self.limits.workgroup_size);
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let made = fill_pipeline(device, &self.layout, &self.module, op, dtype, true, workgroup_size);
        // Native wgpu validates a pipeline as it makes it, so the scope's result is ready at once.
        // Recording never blocks (in a browser it could not), so it is polled once: where it is
        // not ready, an error reaches the device's own handler when the pass is submitted.
        let mut popped = std::pin::pin!(scope.pop());
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(Some(error)) = std::future::Future::poll(popped.as_mut(), &mut context) {
            return Err(Error::Gpu(format!("building a fill pipeline: {error}")));
        }
        Ok(cell.get_or_init(|| made))
    }

    /// The binding of `aux` for window `w`: buffer, offset, size, and the index (in words for a
    /// copy, in bits for a mask) of the window's first element inside the binding.
    fn aux_window<'b>(
        &'b self,
        aux: Aux<'b>,
        w: &Window,
        source_index: u64,
    ) -> Result<(&'b wgpu::Buffer, u64, u64, Option<u32>)> {
        let align = self.limits.offset_alignment;
        let count = u64::from(w.count);
        let (buffer, first_byte, end_byte) = match aux {
            Aux::None => return Ok((&self.no_aux, 0, 16, None)),
            Aux::Copy { source } => {
                let at = source_index * SOURCE_BYTES;
                (source, at, at + count * SOURCE_BYTES)
            }
            Aux::Mask { bits, .. } => {
                let first_word = w.first_element / 32;
                (bits, first_word * 4, (w.first_element + count).div_ceil(32) * 4)
            }
        };
        if end_byte > buffer.size() {
            return Err(Error::InvalidTarget(format!("aux buffer of {} bytes is too small", buffer.size())));
        }
        let offset = first_byte / align * align;
        let start = match aux {
            Aux::Mask { .. } => w.first_element - offset * 8,
            _ => (first_byte - offset) / SOURCE_BYTES,
        };
        let size = (end_byte - offset).next_multiple_of(4);
        Ok((buffer, offset, size, Some(start as u32)))
    }

    /// Philox4x32-10 evaluated on the GPU for caller-given `(counter, key)` pairs: a known-answer
    /// check of the adapter and of this filler's multiply (compare with [`crate::Stream::block`]:
    /// counter `(b & 0xffffffff, b >> 32, s & 0xffffffff, s >> 32)`, key the seed's halves).
    pub async fn philox_blocks(&self, inputs: &[([u32; 4], [u32; 2])]) -> Result<Vec<[u32; 4]>> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let mut words: Vec<u32> = Vec::with_capacity(inputs.len() * 8);
        for (ctr, key) in inputs {
            words.extend_from_slice(ctr);
            words.extend_from_slice(&[key[0], key[1], 0, 0]);
        }
        let bytes = (words.len() * 4) as u64;
        if bytes > self.limits.max_binding {
            return Err(Error::LimitExceeded(format!("{} blocks do not fit one binding", inputs.len())));
        }
        let device = &self.device;
        let io = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("nninit philox_kat io"),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        let groups = (inputs.len() as u32).div_ceil(64);
        if groups > self.limits.max_groups_per_dim {
            return Err(Error::LimitExceeded(format!("{} blocks need too many workgroups", inputs.len())));
        }
        super::submit_checked(device, &self.queue, |encoder| {
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("nninit philox_kat"),
                layout: &self.kat_layout,
                entries: &[buffer_entry(0, &io, 0, bytes)],
            });
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.kat_pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
            Ok(())
        })
        .await?;
        let out = super::read_buffer(device, &self.queue, &io, 0..bytes).await?;
        let out: &[u32] = bytemuck::cast_slice(&out);
        Ok(out.chunks_exact(8).map(|c| [c[0], c[1], c[2], c[3]]).collect())
    }
}

/// Spans of 16-bit elements shorter than this are written as half-words whole: splitting them
/// would add dispatches (a column shard has one span per row) for little gain.
const MIN_WORD_SPAN: u64 = 1 << 12;

/// Splits 16-bit `spans` into the half-words written as such (short spans, and a long span's
/// first or last element where it shares a word with bytes outside the span) and the whole
/// 32-bit words between them, as spans of 4-byte elements from element 0.
fn split_into_words(spans: &[Span]) -> (Vec<Span>, Vec<Span>) {
    let (mut halves, mut words) = (Vec::new(), Vec::new());
    for span in spans {
        let mut elements = span.elements.clone();
        if elements.end - elements.start < MIN_WORD_SPAN {
            halves.push(span.clone());
            continue;
        }
        let mut first = span.byte_offset;
        if first % 4 == 2 {
            halves.push(Span { byte_offset: first, elements: elements.start..elements.start + 1, source_index: 0 });
            (first, elements.start) = (first + 2, elements.start + 1);
        }
        let mut end = first + 2 * (elements.end - elements.start);
        if end % 4 == 2 {
            halves.push(Span { byte_offset: end - 2, elements: elements.end - 1..elements.end, source_index: 0 });
            (end, elements.end) = (end - 2, elements.end - 1);
        }
        words.push(Span { byte_offset: first, elements: 0..(end - first) / 4, source_index: 0 });
    }
    (halves, words)
}

/// Where invocation 0's first slot (element `first - lead`, possibly "-1") lies: its Philox block,
/// wrapping below 0, and its word in that block.
fn slot_origin(w: &Window) -> (u64, u32) {
    let origin = i128::from(w.first_element) - i128::from(w.lead);
    (origin.div_euclid(4) as u64, origin.rem_euclid(4) as u32)
}

/// An operation's pipeline with its f32 and u32 parameter vectors.
type OpParameters = (KernelOp, [[f32; 4]; 3], [[u32; 4]; 2]);

fn op_parameters(op: &Op) -> Result<OpParameters> {
    let mut f = [[0f32; 4]; 3];
    let mut u = [[0u32; 4]; 2];
    let kernel_op = match *op {
        Op::Bits => KernelOp::Bits,
        Op::Uniform { a, span } => {
            f[0] = [a, span, 0.0, 0.0];
            KernelOp::Uniform
        }
        Op::Normal { mean, std } => {
            f[0] = [mean, std, 0.0, 0.0];
            KernelOp::Normal
        }
        Op::Constant { val } => {
            u[0][0] = val.to_bits();
            KernelOp::Constant
        }
        Op::TruncNormal(p) => {
            let floats = p.to_floats();
            for (i, chunk) in floats.chunks_exact(4).enumerate() {
                f[i].copy_from_slice(chunk);
            }
            KernelOp::TruncNormal
        }
        Op::Diagonal(d) => {
            let fits = |x: u64| u32::try_from(x).ok().filter(|&x| x < 1 << 31);
            match (fits(d.in_channels), fits(d.spatial), fits(d.centre), fits(d.out_per_group)) {
                (Some(i), Some(s), Some(c), Some(o)) => u[0] = [i.max(1), s.max(1), c, o.max(1)],
                _ => {
                    return Err(Error::LimitExceeded(
                        "eye/dirac on the GPU needs dims below 2^31; use the CPU backend".into(),
                    ))
                }
            }
            KernelOp::Diagonal
        }
    };
    Ok((kernel_op, f, u))
}

/// `(min_dim, o0, c0, s0)`: the diagonal rule's coordinates of a window's first element.
fn diagonal_window_start(d: &crate::contract::diagonal::DiagonalParams, first: u64) -> Result<[u32; 4]> {
    let spatial = d.spatial.max(1);
    let in_channels = d.in_channels.max(1);
    let s0 = first % spatial;
    let row = first / spatial;
    let (c0, o0) = (row % in_channels, row / in_channels);
    let min_dim = d.min_dim.min(u64::from(u32::MAX));
    let o0 = u32::try_from(o0)
        .map_err(|_| Error::LimitExceeded("eye/dirac on the GPU needs dim 0 below 2^32; use the CPU backend".into()))?;
    Ok([min_dim as u32, o0, c0 as u32, s0 as u32])
}

/// A read-only storage buffer holding `bytes` (at least 16 bytes), created mapped: no queue needed.
fn upload(device: &wgpu::Device, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    let mut contents = bytes.to_vec();
    contents.resize(bytes.len().next_multiple_of(4).max(16), 0);
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &contents,
        usage: wgpu::BufferUsages::STORAGE,
    })
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<FillParams>() as u64),
        },
        count: None,
    }
}

fn buffer_entry(binding: u32, buffer: &wgpu::Buffer, offset: u64, size: u64) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset,
            size: wgpu::BufferSize::new(size),
        }),
    }
}

/// The fill kernel's pipeline for `op` into `dtype`, for windows that `straddle` Philox blocks
/// or not (the kernel's override constants).
fn fill_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    module: &wgpu::ShaderModule,
    op: KernelOp,
    dtype: Dtype,
    straddle: bool,
    workgroup_size: u32,
) -> wgpu::ComputePipeline {
    let constants = [
        ("OP", f64::from(op as u32)),
        ("WG_SIZE", f64::from(workgroup_size)),
        ("DTYPE", f64::from(dtype.kernel_code())),
        ("STRADDLE", f64::from(u8::from(straddle))),
    ];
    compute_pipeline(device, layout, module, "fill", &constants)
}

fn compute_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    module: &wgpu::ShaderModule,
    entry_point: &str,
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry_point),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry_point),
        layout: Some(&pipeline_layout),
        module,
        entry_point: Some(entry_point),
        compilation_options: wgpu::PipelineCompilationOptions { constants, zero_initialize_workgroup_memory: false },
        cache: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_splits_tile_each_span_with_half_words_only_at_shared_ends() {
        for offset in [0u64, 2, 4, 6, 1026] {
            for count in [1u64, 2, MIN_WORD_SPAN - 1, MIN_WORD_SPAN, MIN_WORD_SPAN + 1, 10_001] {
                let span = Span { byte_offset: offset, elements: 7..7 + count, source_index: 0 };
                let (halves, words) = split_into_words(std::slice::from_ref(&span));
                // Every byte of the span exactly once, and none outside it.
                let mut bytes: Vec<(u64, u64)> = halves
                    .iter()
                    .map(|h| (h.byte_offset, h.byte_offset + 2 * (h.elements.end - h.elements.start)))
                    .chain(words.iter().map(|w| (w.byte_offset, w.byte_offset + 4 * w.elements.end)))
                    .collect();
                bytes.sort();
                assert_eq!(bytes.first().unwrap().0, offset);
                assert_eq!(bytes.last().unwrap().1, offset + 2 * count);
                assert!(bytes.windows(2).all(|p| p[0].1 == p[1].0), "{offset} {count}: {bytes:?}");
                if count < MIN_WORD_SPAN {
                    assert!(words.is_empty() && halves.len() == 1);
                    continue;
                }
                // One word span, aligned, from element 0; half-words only where a word is shared.
                assert_eq!(words.len(), 1);
                assert!(words[0].byte_offset.is_multiple_of(4) && words[0].elements.start == 0);
                let shared_ends = u64::from(offset % 4 == 2) + u64::from((offset + 2 * count) % 4 == 2);
                assert_eq!(halves.len() as u64, shared_ends);
                for h in &halves {
                    assert_eq!(h.elements.end - h.elements.start, 1);
                    let index = (h.byte_offset - offset) / 2;
                    assert_eq!(h.elements.start, 7 + index, "half-word at byte {}", h.byte_offset);
                }
            }
        }
    }
}
