//! Running a model on either backend: tensor data in file order, in bounded pieces, into a sink
//! (a safetensors file, host memory), or straight into caller-owned GPU buffers.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use crate::cpu::{CpuBackend, Make};
use crate::error::{Error, Result};
use crate::gpu::{callback, submit_checked, Callback, GpuFiller, GpuTarget, Waiting};
use crate::io::{decode_f32_bits, decode_i64};
use crate::scheme::{Fill, Region};

use super::resolved::{named, Model, ModelTensor, Source};
use super::tensor::ElementType;

/// Where a model runs.
#[derive(Clone, Copy, Debug)]
pub enum Backend<'a> {
    /// The multi-threaded CPU backend.
    Cpu(&'a CpuBackend),
    /// A GPU (the engine's device and queue, through its filler): tensors are filled in device
    /// batches and read back.
    Gpu(&'a GpuFiller),
}

impl Backend<'_> {
    /// One line naming the backend (the adapter, or the CPU and its threads).
    pub fn describe(&self) -> String {
        match self {
            Backend::Cpu(cpu) => format!("CPU backend ({} threads)", cpu.threads()),
            Backend::Gpu(gpu) => crate::gpu::describe(&gpu.device().adapter_info()),
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// Tensors written.
    pub tensors: usize,
    /// Elements written.
    pub elements: u64,
    /// Bytes of tensor data written.
    pub bytes: u64,
    /// Wall-clock seconds, planning of host-side work and file writing included.
    pub seconds: f64,
    /// The backend, in words.
    pub backend: String,
    /// The files written: the file, or a checkpoint's safetensors files (shards, not the index),
    /// under the destination's path as given; none for standard output.
    pub files: Vec<std::path::PathBuf>,
}

/// Where one tensor goes in caller-owned GPU memory (see [`Model::record_into`]).
#[derive(Clone, Copy, Debug)]
pub struct TensorTarget<'a> {
    /// The buffer; it needs `STORAGE`, and `COPY_DST` for i64 tensors.
    pub buffer: &'a wgpu::Buffer,
    /// Byte offset of the tensor's first element.
    pub byte_offset: u64,
}

/// Every tensor placed in one buffer: offsets aligned, in model order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArenaLayout {
    /// Byte offset of each tensor.
    pub offsets: Vec<u64>,
    /// The buffer size that holds them all.
    pub size: u64,
}

/// One tensor's elements `elements`, made at once.
#[derive(Clone, Debug)]
struct Piece {
    tensor: usize,
    elements: Range<u64>,
}

/// The sink a run hands its pieces to: `(tensor index, bytes)`.
pub type Sink<'s> = dyn FnMut(usize, &[u8]) -> Result<()> + 's;

/// A [`Lend`](crate::cpu::Lend) that is also told which tensor the piece belongs to.
pub(crate) type ModelLend<'l> = dyn FnMut(usize, usize, &mut Make<'_>) -> Result<()> + 'l;

impl Model {
    /// Largest piece of a tensor made at once, and the size of each GPU batch buffer, unless a
    /// run says otherwise: memory stays bounded whatever the model's size.
    pub const PIECE_BYTES: u64 = 64 << 20;

    /// Makes every tensor's data in model order and hands it to `sink(tensor index, bytes)` in
    /// pieces of at most `piece_bytes` bytes (rounded up to whole elements; smaller pieces bound
    /// memory further). On the GPU, pieces are filled in batches (one submission each, fill and
    /// copy to a staging buffer together), the next batch running while the previous one is
    /// handed over.
    pub async fn produce(&self, backend: Backend<'_>, piece_bytes: u64, sink: &mut Sink<'_>) -> Result<()> {
        self.produce_waiting(backend, piece_bytes, sink, Waiting::Async).await
    }

    /// [`Model::produce`], blocking.
    pub fn produce_blocking(&self, backend: Backend<'_>, piece_bytes: u64, sink: &mut Sink<'_>) -> Result<()> {
        pollster::block_on(self.produce_waiting(backend, piece_bytes, sink, Waiting::Blocking))
    }

    async fn produce_waiting(
        &self,
        backend: Backend<'_>,
        piece_bytes: u64,
        sink: &mut Sink<'_>,
        waiting: Waiting,
    ) -> Result<()> {
        let piece_bytes = piece_bytes.max(8);
        match backend {
            Backend::Cpu(cpu) => self.produce_on_cpu(cpu, piece_bytes, sink),
            Backend::Gpu(gpu) => GpuRun::new(self, gpu, piece_bytes, waiting).await?.run(sink).await,
        }
    }

    /// Every tensor's data in host memory, in model order (for models that fit in memory).
    pub async fn to_host(&self, backend: Backend<'_>) -> Result<Vec<Vec<u8>>> {
        self.to_host_waiting(backend, Waiting::Async).await
    }

    /// [`Model::to_host`], blocking.
    pub fn to_host_blocking(&self, backend: Backend<'_>) -> Result<Vec<Vec<u8>>> {
        pollster::block_on(self.to_host_waiting(backend, Waiting::Blocking))
    }

    async fn to_host_waiting(&self, backend: Backend<'_>, waiting: Waiting) -> Result<Vec<Vec<u8>>> {
        let mut out: Vec<Vec<u8>> = vec![Vec::new(); self.tensors.len()];
        let mut sink = |tensor: usize, bytes: &[u8]| {
            out[tensor].extend_from_slice(bytes);
            Ok(())
        };
        self.produce_waiting(backend, Self::PIECE_BYTES, &mut sink, waiting).await?;
        Ok(out)
    }

    /// The metadata an output file records: `"format": "pt"` (transformers' loader requires
    /// it), nninit's and the stream contract's versions, the
    /// seed, model and dtype, and per tensor `nninit.tensor.NAME`: its scheme as JSON with its
    /// `stream`, or the pretrained file and key it came from.
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut metadata = HashMap::from([
            ("format".to_string(), "pt".to_string()),
            ("nninit.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("nninit.stream_version".to_string(), crate::contract::stream::STREAM_VERSION.to_string()),
            ("nninit.seed".to_string(), self.seed.to_string()),
            ("nninit.model".to_string(), self.name.clone()),
            ("nninit.dtype".to_string(), self.dtype.name().to_string()),
            ("nninit.streams".to_string(), "fnv1a64(name)".to_string()),
        ]);
        for t in &self.tensors {
            let value = match &t.source {
                Source::Stream => {
                    let mut json = serde_json::to_value(&t.scheme).expect("a scheme serializes");
                    json["stream"] = t.stream.stream.into();
                    if let Some(row) = t.zero_row {
                        json["zero_row"] = row.into();
                    }
                    json
                }
                Source::Pretrained { file, entry } => {
                    serde_json::json!({"pretrained": file.path().display().to_string(), "key": entry.name})
                }
            };
            metadata.insert(format!("{}{}", crate::io::TENSOR_METADATA_PREFIX, t.name), value.to_string());
        }
        metadata
    }

    /// Offsets for every tensor in one buffer, each aligned to `alignment` bytes (at least 4).
    pub fn arena_layout(&self, alignment: u64) -> ArenaLayout {
        let alignment = alignment.max(4);
        let mut offsets = Vec::with_capacity(self.tensors.len());
        let mut size = 0u64;
        for t in &self.tensors {
            offsets.push(size);
            size = (size + t.bytes()).next_multiple_of(alignment);
        }
        ArenaLayout { offsets, size: size.max(4) }
    }

    /// Records every tensor into caller-owned buffers (the engine case): element-wise schemes
    /// as kernels in `encoder`, orthogonal and sparse with their host-side work done first,
    /// pretrained values uploaded and converted by the same kernels, i64 constants written
    /// through the filler's queue (they land before `encoder`'s commands when it is submitted;
    /// their buffer needs `COPY_DST` usage, or the call is an [`Error::InvalidTarget`]).
    /// Nothing waits.
    pub fn record_into(
        &self,
        filler: &GpuFiller,
        encoder: &mut wgpu::CommandEncoder,
        targets: &[TensorTarget<'_>],
    ) -> Result<()> {
        if targets.len() != self.tensors.len() {
            return Err(Error::InvalidTarget(format!("{} targets for {} tensors", targets.len(), self.tensors.len())));
        }
        for (t, target) in self.tensors.iter().zip(targets) {
            match t.element {
                ElementType::I64 => {
                    if !target.byte_offset.is_multiple_of(4) {
                        return Err(Error::InvalidTarget(format!(
                            "{}: i64 data needs a byte offset that is a multiple of 4",
                            t.name
                        )));
                    }
                    let end = target.byte_offset.checked_add(t.bytes());
                    if end.is_none_or(|end| end > target.buffer.size()) {
                        return Err(Error::InvalidTarget(format!("{}: overruns its buffer", t.name)));
                    }
                    if !target.buffer.usage().contains(wgpu::BufferUsages::COPY_DST) {
                        return Err(Error::InvalidTarget(format!(
                            "{}: i64 data is written with Queue::write_buffer, so its buffer needs COPY_DST usage",
                            t.name
                        )));
                    }
                    let bytes = host_bytes(t, 0..t.elements())?;
                    filler.queue().write_buffer(target.buffer, target.byte_offset, &bytes);
                }
                ElementType::Float(dtype) => {
                    let fill = tensor_fill(t)?;
                    let gpu_target = GpuTarget {
                        buffer: target.buffer,
                        byte_offset: target.byte_offset,
                        region: Region::All,
                        dtype,
                    };
                    filler.record(encoder, &fill, &gpu_target).map_err(|e| named(&t.name, e))?;
                }
            }
        }
        Ok(())
    }

    fn produce_on_cpu(&self, cpu: &CpuBackend, piece_bytes: u64, sink: &mut Sink<'_>) -> Result<()> {
        let mut buffer = Vec::new();
        self.produce_lent(cpu, piece_bytes, &mut |tensor, bytes, make| {
            let part = crate::cpu::lend_from(&mut buffer, bytes, "a piece of the model")?;
            make(part)?;
            sink(tensor, part)
        })
    }

    /// Makes every tensor's data on `cpu` in model order, each piece in the buffer that
    /// `lend(tensor index, bytes, make)` hands `make` (see [`CpuBackend::fill_lent`]).
    pub(crate) fn produce_lent(&self, cpu: &CpuBackend, piece_bytes: u64, lend: &mut ModelLend<'_>) -> Result<()> {
        let mut fills = FillCache::default();
        for piece in self.pieces(piece_bytes.max(8)) {
            let t = &self.tensors[piece.tensor];
            match t.backend_dtype() {
                Some(dtype) => {
                    let bytes = ((piece.elements.end - piece.elements.start) * dtype.size()) as usize;
                    let fill = fills.get(self, piece.tensor)?;
                    lend(piece.tensor, bytes, &mut |part| {
                        cpu.fill_segments(&fill, std::slice::from_ref(&piece.elements), dtype, part)
                    })?;
                }
                None => {
                    let made = host_bytes(t, piece.elements)?;
                    lend(piece.tensor, made.len(), &mut |part| {
                        part.copy_from_slice(&made);
                        Ok(())
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Every tensor cut into pieces of at most `piece_bytes` (and an even number of elements,
    /// so 16-bit pieces start on 32-bit words), in model order.
    fn pieces(&self, piece_bytes: u64) -> impl Iterator<Item = Piece> + '_ {
        self.tensors.iter().enumerate().flat_map(move |(tensor, t)| {
            let per_piece = (piece_bytes / t.element.size() / 2 * 2).max(2);
            let n = t.elements();
            (0..n.div_ceil(per_piece))
                .map(move |i| Piece { tensor, elements: i * per_piece..n.min((i + 1) * per_piece) })
        })
    }
}

/// The values of a tensor that are made on the host: pretrained ones (read and converted) and
/// i64 constants.
fn host_bytes(t: &ModelTensor, elements: Range<u64>) -> Result<Vec<u8>> {
    let count = (elements.end - elements.start) as usize;
    match (&t.source, t.element) {
        (Source::Pretrained { file, entry }, element) => {
            let size = entry.dtype.bitsize() as u64 / 8;
            let raw = file.read(entry, elements.start * size..elements.end * size)?;
            match element {
                ElementType::Float(dtype) => {
                    let words = decode_f32_bits(entry.dtype, &raw).map_err(|e| named(&t.name, e))?;
                    let mut out = vec![0u8; count * dtype.size() as usize];
                    dtype.encode_slice(&words, &mut out);
                    Ok(out)
                }
                ElementType::I64 => Ok(decode_i64(entry.dtype, &raw)?.iter().flat_map(|v| v.to_le_bytes()).collect()),
            }
        }
        (Source::Stream, ElementType::I64) => Ok(t.integer_value()?.to_le_bytes().repeat(count)),
        (Source::Stream, ElementType::Float(_)) => {
            Err(Error::InvalidParameter(format!("{}: floating-point schemes run on a backend", t.name)))
        }
    }
}

/// A floating-point tensor's fill: its scheme on its stream, or its pretrained values.
fn tensor_fill(t: &ModelTensor) -> Result<Fill> {
    match &t.source {
        Source::Stream => t.drawn_fill(),
        Source::Pretrained { file, entry } => {
            let words = decode_f32_bits(entry.dtype, &file.read_all(entry)?).map_err(|e| named(&t.name, e))?;
            Fill::from_values(t.shape(), bytemuck::cast_vec(words))
        }
    }
}

/// The fill of the tensor being made, with its host-side work done once however many pieces it
/// has.
#[derive(Default)]
struct FillCache {
    last: Option<(usize, Rc<Fill>)>,
}

impl FillCache {
    fn get(&mut self, model: &Model, tensor: usize) -> Result<Rc<Fill>> {
        match &self.last {
            Some((index, fill)) if *index == tensor => Ok(Rc::clone(fill)),
            _ => {
                let t = &model.tensors[tensor];
                let fill = Rc::new(t.drawn_fill()?);
                self.last = Some((tensor, Rc::clone(&fill)));
                Ok(fill)
            }
        }
    }
}

/// A GPU batch: pieces filled at byte offsets of one device buffer, and host-made pieces that
/// go between them in the output.
#[derive(Default)]
struct Batch {
    items: Vec<(Piece, Option<Range<u64>>)>,
    gpu_bytes: u64,
}

/// A device buffer and its staging twin.
struct Slot {
    storage: wgpu::Buffer,
    staging: wgpu::Buffer,
}

/// The result of mapping a staging buffer.
type Mapped = std::result::Result<(), wgpu::BufferAsyncError>;

/// A batch on its way: submitted, its staging buffer's mapping requested.
struct InFlight {
    batch: Batch,
    slot: usize,
    index: wgpu::SubmissionIndex,
    mapped: Option<Callback<Mapped>>,
}

/// The GPU side of [`Model::produce`]: two slots, one being filled while the other is handed
/// over.
struct GpuRun<'a> {
    model: &'a Model,
    gpu: &'a GpuFiller,
    slots: [Slot; 2],
    /// Bytes of each slot; every piece fits in one.
    capacity: u64,
    fills: FillCache,
    waiting: Waiting,
}

impl<'a> GpuRun<'a> {
    async fn new(model: &'a Model, gpu: &'a GpuFiller, piece_bytes: u64, waiting: Waiting) -> Result<Self> {
        let device = gpu.device();
        let capacity = piece_bytes
            .next_multiple_of(8)
            .min(device.limits().max_buffer_size / 4 * 4)
            .min(model.bytes().next_multiple_of(4))
            .max(4);
        let mut slots = Vec::with_capacity(2);
        for i in 0..2 {
            let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
            let storage =
                crate::gpu::create_buffer_checked(device, &format!("nninit model {i}"), capacity, usage).await?;
            let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
            let staging =
                crate::gpu::create_buffer_checked(device, &format!("nninit staging {i}"), capacity, usage).await?;
            slots.push(Slot { storage, staging });
        }
        let slots: [Slot; 2] = slots.try_into().map_err(|_| Error::Gpu("two slots".into()))?;
        Ok(Self { model, gpu, slots, capacity, fills: FillCache::default(), waiting })
    }

    async fn run(mut self, sink: &mut Sink<'_>) -> Result<()> {
        let mut in_flight: Option<InFlight> = None;
        let mut batch = Batch::default();
        let mut slot = 0;
        for piece in self.model.pieces(self.capacity) {
            let t = &self.model.tensors[piece.tensor];
            let Some(dtype) = t.backend_dtype() else {
                batch.items.push((piece, None));
                continue;
            };
            let bytes = ((piece.elements.end - piece.elements.start) * dtype.size()).next_multiple_of(4);
            if batch.gpu_bytes + bytes > self.capacity {
                let launched = self.launch(std::mem::take(&mut batch), slot).await?;
                if let Some(previous) = in_flight.replace(launched) {
                    self.hand_over(previous, sink).await?;
                }
                slot = 1 - slot;
            }
            let at = batch.gpu_bytes;
            batch.items.push((piece, Some(at..at + bytes)));
            batch.gpu_bytes += bytes;
        }
        let last = self.launch(batch, slot).await?;
        if let Some(previous) = in_flight.replace(last) {
            self.hand_over(previous, sink).await?;
        }
        match in_flight {
            Some(last) => self.hand_over(last, sink).await,
            None => Ok(()),
        }
    }

    /// Records the batch's fills and the copy to staging, submits, and requests the mapping.
    async fn launch(&mut self, batch: Batch, slot: usize) -> Result<InFlight> {
        let (gpu, model) = (self.gpu, self.model);
        let mut work = Vec::new();
        for (piece, at) in &batch.items {
            if let Some(at) = at {
                work.push((piece, at.start, self.fills.get(model, piece.tensor)?));
            }
        }
        let Slot { storage, staging } = &self.slots[slot];
        let index = submit_checked(gpu.device(), gpu.queue(), |encoder| {
            for (piece, at, fill) in &work {
                let t = &model.tensors[piece.tensor];
                let dtype = t.backend_dtype().expect("only backend-made pieces fill on the GPU");
                let segment = std::slice::from_ref(&piece.elements);
                gpu.record_segments(encoder, storage, *at, dtype, segment, fill).map_err(|e| named(&t.name, e))?;
            }
            if batch.gpu_bytes > 0 {
                encoder.copy_buffer_to_buffer(storage, 0, staging, 0, batch.gpu_bytes);
            }
            Ok(())
        })
        .await?;
        let mapped = (batch.gpu_bytes > 0).then(|| {
            let (done, mapped) = callback(gpu.device());
            staging.slice(0..batch.gpu_bytes).map_async(wgpu::MapMode::Read, done);
            mapped
        });
        Ok(InFlight { batch, slot, index, mapped })
    }

    /// Waits for a batch and hands its pieces, GPU-made and host-made, to `sink` in order.
    async fn hand_over(&self, done: InFlight, sink: &mut Sink<'_>) -> Result<()> {
        let staging = &self.slots[done.slot].staging;
        let mapped = done.mapped.is_some();
        let view = match done.mapped {
            Some(receiver) => {
                self.waiting
                    .wait(self.gpu.device(), done.index, receiver)
                    .await?
                    .map_err(|e| Error::Gpu(e.to_string()))?;
                Some(staging.slice(0..done.batch.gpu_bytes).get_mapped_range().map_err(|e| Error::Gpu(e.to_string()))?)
            }
            None => None,
        };
        for (piece, at) in &done.batch.items {
            let t = &self.model.tensors[piece.tensor];
            match (at, &view) {
                (Some(at), Some(view)) => {
                    let len = (piece.elements.end - piece.elements.start) * t.element.size();
                    sink(piece.tensor, &view[at.start as usize..(at.start + len) as usize])?;
                }
                _ => sink(piece.tensor, &host_bytes(t, piece.elements.clone())?)?,
            }
        }
        drop(view);
        if mapped {
            staging.unmap();
        }
        Ok(())
    }
}
