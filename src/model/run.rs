//! Running a model plan on either backend: tensor data in file order, in bounded pieces, into a
//! sink (a safetensors file, host memory), or straight into caller-owned GPU buffers.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use crate::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::gpu::{submit_checked, wait_for, FillTarget, GpuContext, GpuFiller};
use crate::prepared::Prepared;
use crate::tensor_file::{decode_f32_bits, decode_i64, TensorHeader, TensorWriter};

use super::plan::{named, ModelPlan, PlannedTensor, Source};
use super::spec::ElementType;

/// Largest piece of a tensor made at once, and the size of each GPU batch buffer: memory stays
/// bounded whatever the model's size.
const PIECE_BYTES: u64 = 64 << 20;

/// Where a model runs.
#[derive(Clone, Copy, Debug)]
pub enum Backend<'a> {
    /// The multi-threaded CPU backend.
    Cpu(&'a CpuBackend),
    /// A GPU context: tensors are filled in device batches and read back.
    Gpu(&'a GpuContext),
}

impl Backend<'_> {
    /// One line naming the backend (the adapter, or the CPU and its threads).
    pub fn describe(&self) -> String {
        match self {
            Backend::Cpu(cpu) => format!("CPU backend ({} threads)", cpu.threads()),
            Backend::Gpu(gpu) => crate::gpu::describe(&gpu.info),
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
}

/// Where one tensor goes in caller-owned GPU memory (see [`ModelPlan::record_into`]).
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

impl ModelPlan {
    /// Makes every tensor's data in model order and hands it to `sink` in pieces of at most 64
    /// MiB: `sink(tensor index, bytes)`. On the GPU, pieces are filled in batches (one submission
    /// each, fill and copy to a staging buffer together), the next batch running while the
    /// previous one is handed over.
    pub fn produce(&self, backend: Backend<'_>, sink: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        self.produce_in_pieces(backend, PIECE_BYTES, sink)
    }

    /// As [`ModelPlan::produce`], in pieces (and GPU batches) of at most `piece_bytes` bytes
    /// (rounded up to whole elements): smaller pieces bound memory further.
    pub fn produce_in_pieces(
        &self,
        backend: Backend<'_>,
        piece_bytes: u64,
        sink: &mut dyn FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let piece_bytes = piece_bytes.max(8);
        match backend {
            Backend::Cpu(cpu) => self.produce_on_cpu(cpu, piece_bytes, sink),
            Backend::Gpu(gpu) => GpuRun::new(self, gpu, piece_bytes)?.run(sink),
        }
    }

    /// Every tensor's data in host memory, in model order (for models that fit in memory).
    pub fn to_host(&self, backend: Backend<'_>) -> Result<Vec<Vec<u8>>> {
        let mut out: Vec<Vec<u8>> = vec![Vec::new(); self.tensors.len()];
        self.produce(backend, &mut |tensor, bytes| {
            out[tensor].extend_from_slice(bytes);
            Ok(())
        })?;
        Ok(out)
    }

    /// Writes the model to the safetensors file `path`, atomically, streaming pieces from
    /// `backend` to disk; `progress(bytes done, bytes total)` is called after each piece. The
    /// file's metadata is [`ModelPlan::metadata`] plus `extra`.
    pub fn write_safetensors(
        &self,
        path: &Path,
        backend: Backend<'_>,
        extra: &HashMap<String, String>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let headers: Vec<TensorHeader> = self
            .tensors
            .iter()
            .map(|t| TensorHeader { name: t.name.clone(), dtype: t.element.safetensors(), shape: t.shape().to_vec() })
            .collect();
        let mut metadata = self.metadata();
        metadata.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut writer = TensorWriter::create(path, &headers, &metadata)?;
        let total = self.bytes();
        // A writer thread takes the pieces, so making the next piece overlaps writing this one.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        std::thread::scope(|scope| {
            let written = scope.spawn(move || -> Result<TensorWriter> {
                for piece in receiver {
                    writer.write(&piece)?;
                }
                Ok(writer)
            });
            let mut done = 0u64;
            let produced = self.produce(backend, &mut |_, bytes| {
                sender.send(bytes.to_vec()).map_err(|_| Error::SafeTensors("the writer thread stopped".into()))?;
                done += bytes.len() as u64;
                progress(done, total);
                Ok(())
            });
            drop(sender);
            let writer = written.join().map_err(|_| Error::SafeTensors("the writer thread panicked".into()))?;
            // A write error explains a send error, so it comes first.
            let writer = writer?;
            produced?;
            writer.finish()
        })?;
        Ok(RunSummary {
            tensors: self.tensors.len(),
            elements: self.elements(),
            bytes: total,
            seconds: started.elapsed().as_secs_f64(),
            backend: backend.describe(),
        })
    }

    /// The metadata an output file records: nninit's and the stream contract's versions, the
    /// seed, model and dtype, and per tensor `nninit.tensor.NAME`: its scheme as JSON with its
    /// `stream`, or the pretrained file and key it came from.
    pub fn metadata(&self) -> HashMap<String, String> {
        let mut metadata = HashMap::from([
            ("nninit.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("nninit.stream_version".to_string(), crate::stream::STREAM_VERSION.to_string()),
            ("nninit.seed".to_string(), self.seed.to_string()),
            ("nninit.model".to_string(), self.name.clone()),
            ("nninit.dtype".to_string(), self.dtype.name().to_string()),
            ("nninit.streams".to_string(), "fnv1a64(name)".to_string()),
        ]);
        for t in &self.tensors {
            let value = match &t.source {
                Source::Init => {
                    let mut json = serde_json::to_value(&t.init).expect("Init serializes");
                    json["stream"] = t.stream.stream.into();
                    json
                }
                Source::Pretrained { file, entry } => {
                    serde_json::json!({"pretrained": file.path().display().to_string(), "key": entry.name})
                }
            };
            metadata.insert(format!("nninit.tensor.{}", t.name), value.to_string());
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
    /// through `queue` (they land before `encoder`'s commands when it is submitted).
    pub fn record_into(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        filler: &GpuFiller,
        encoder: &mut wgpu::CommandEncoder,
        targets: &[TensorTarget<'_>],
    ) -> Result<()> {
        if targets.len() != self.tensors.len() {
            return Err(Error::InvalidTarget(format!("{} targets for {} tensors", targets.len(), self.tensors.len())));
        }
        for (t, target) in self.tensors.iter().zip(targets) {
            let elements = 0..t.elements();
            match t.element {
                ElementType::I64 => {
                    if !target.byte_offset.is_multiple_of(4) {
                        return Err(Error::InvalidTarget(format!(
                            "{}: i64 data needs a byte offset that is a multiple of 4",
                            t.name
                        )));
                    }
                    let end = target.byte_offset + t.bytes();
                    if end > target.buffer.size() {
                        return Err(Error::InvalidTarget(format!("{}: overruns its buffer", t.name)));
                    }
                    queue.write_buffer(target.buffer, target.byte_offset, &host_bytes(t, elements)?);
                }
                ElementType::Float(dtype) => {
                    let prepared = match &t.source {
                        Source::Init => Prepared::new(&t.plan, t.stream)?,
                        Source::Pretrained { file, entry } => {
                            let words = decode_f32_bits(entry.dtype, &file.read_all(entry)?)?;
                            Prepared::Matrix(bytemuck::cast_vec(words))
                        }
                    };
                    let fill_target =
                        FillTarget { buffer: target.buffer, byte_offset: target.byte_offset, elements, dtype };
                    filler.record_prepared(device, encoder, &fill_target, &prepared).map_err(|e| named(&t.name, e))?;
                }
            }
        }
        Ok(())
    }

    fn produce_on_cpu(
        &self,
        cpu: &CpuBackend,
        piece_bytes: u64,
        sink: &mut dyn FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut prepared = PreparedCache::default();
        let mut buffer = Vec::new();
        for piece in self.pieces(piece_bytes) {
            let t = &self.tensors[piece.tensor];
            match t.backend_dtype() {
                Some(dtype) => {
                    buffer.resize(((piece.elements.end - piece.elements.start) * dtype.size()) as usize, 0);
                    cpu.fill_prepared_as(
                        &mut buffer,
                        piece.elements.start,
                        &*prepared.get(self, piece.tensor)?,
                        dtype,
                    )?;
                    sink(piece.tensor, &buffer)?;
                }
                None => sink(piece.tensor, &host_bytes(t, piece.elements)?)?,
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
fn host_bytes(t: &PlannedTensor, elements: Range<u64>) -> Result<Vec<u8>> {
    let count = (elements.end - elements.start) as usize;
    match (&t.source, t.element) {
        (Source::Pretrained { file, entry }, element) => {
            let size = entry.dtype.bitsize() as u64 / 8;
            let raw = file.read(entry, elements.start * size..elements.end * size)?;
            match element {
                ElementType::Float(dtype) => {
                    let words = decode_f32_bits(entry.dtype, &raw)?;
                    let mut out = vec![0u8; count * dtype.size() as usize];
                    dtype.encode_slice(&words, &mut out);
                    Ok(out)
                }
                ElementType::I64 => Ok(decode_i64(entry.dtype, &raw)?.iter().flat_map(|v| v.to_le_bytes()).collect()),
            }
        }
        (Source::Init, ElementType::I64) => Ok(t.integer_value()?.to_le_bytes().repeat(count)),
        (Source::Init, ElementType::Float(_)) => {
            Err(Error::InvalidParameter(format!("{}: floating-point schemes run on a backend", t.name)))
        }
    }
}

/// The host-side work of the tensor being made, done once however many pieces it has.
#[derive(Default)]
struct PreparedCache {
    last: Option<(usize, Rc<Prepared>)>,
}

impl PreparedCache {
    fn get(&mut self, plan: &ModelPlan, tensor: usize) -> Result<Rc<Prepared>> {
        match &self.last {
            Some((index, prepared)) if *index == tensor => Ok(Rc::clone(prepared)),
            _ => {
                let t = &plan.tensors[tensor];
                let prepared = Rc::new(Prepared::new(&t.plan, t.stream).map_err(|e| named(&t.name, e))?);
                self.last = Some((tensor, Rc::clone(&prepared)));
                Ok(prepared)
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

/// A batch on its way: submitted, its staging buffer's mapping requested.
struct InFlight {
    batch: Batch,
    slot: usize,
    index: wgpu::SubmissionIndex,
    mapped: Option<std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>>,
}

/// The GPU side of [`ModelPlan::produce`]: two slots, one being filled while the other is
/// handed over.
struct GpuRun<'a> {
    plan: &'a ModelPlan,
    gpu: &'a GpuContext,
    slots: [Slot; 2],
    /// Bytes of each slot; every piece fits in one.
    capacity: u64,
    prepared: PreparedCache,
}

impl<'a> GpuRun<'a> {
    fn new(plan: &'a ModelPlan, gpu: &'a GpuContext, piece_bytes: u64) -> Result<Self> {
        let capacity = piece_bytes
            .next_multiple_of(8)
            .min(gpu.device.limits().max_buffer_size / 4 * 4)
            .min(plan.bytes().next_multiple_of(4))
            .max(4);
        let slot = |i: usize| -> Result<Slot> {
            let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
            let storage =
                crate::gpu::create_buffer_checked(&gpu.device, &format!("nninit model {i}"), capacity, usage)?;
            let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
            let staging =
                crate::gpu::create_buffer_checked(&gpu.device, &format!("nninit staging {i}"), capacity, usage)?;
            Ok(Slot { storage, staging })
        };
        Ok(Self { plan, gpu, slots: [slot(0)?, slot(1)?], capacity, prepared: PreparedCache::default() })
    }

    fn run(mut self, sink: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        let mut in_flight: Option<InFlight> = None;
        let mut batch = Batch::default();
        let mut slot = 0;
        for piece in self.plan.pieces(self.capacity) {
            let t = &self.plan.tensors[piece.tensor];
            let Some(dtype) = t.backend_dtype() else {
                batch.items.push((piece, None));
                continue;
            };
            let bytes = ((piece.elements.end - piece.elements.start) * dtype.size()).next_multiple_of(4);
            if batch.gpu_bytes + bytes > self.capacity {
                let launched = self.launch(std::mem::take(&mut batch), slot)?;
                if let Some(previous) = in_flight.replace(launched) {
                    self.hand_over(previous, sink)?;
                }
                slot = 1 - slot;
            }
            let at = batch.gpu_bytes;
            batch.items.push((piece, Some(at..at + bytes)));
            batch.gpu_bytes += bytes;
        }
        let last = self.launch(batch, slot)?;
        if let Some(previous) = in_flight.replace(last) {
            self.hand_over(previous, sink)?;
        }
        match in_flight {
            Some(last) => self.hand_over(last, sink),
            None => Ok(()),
        }
    }

    /// Records the batch's fills and the copy to staging, submits, and requests the mapping.
    fn launch(&mut self, batch: Batch, slot: usize) -> Result<InFlight> {
        let (gpu, plan) = (self.gpu, self.plan);
        let mut work = Vec::new();
        for (piece, at) in &batch.items {
            if let Some(at) = at {
                work.push((piece, at.start, self.prepared.get(plan, piece.tensor)?));
            }
        }
        let Slot { storage, staging } = &self.slots[slot];
        let index = submit_checked(&gpu.device, &gpu.queue, |encoder| {
            for (piece, at, prepared) in &work {
                let t = &plan.tensors[piece.tensor];
                let dtype = t.backend_dtype().expect("only backend-made pieces fill on the GPU");
                let segment = std::slice::from_ref(&piece.elements);
                gpu.filler
                    .record_segments(&gpu.device, encoder, storage, *at, dtype, segment, prepared)
                    .map_err(|e| named(&t.name, e))?;
            }
            if batch.gpu_bytes > 0 {
                encoder.copy_buffer_to_buffer(storage, 0, staging, 0, batch.gpu_bytes);
            }
            Ok(())
        })?;
        let mapped = (batch.gpu_bytes > 0).then(|| {
            let (sender, receiver) = std::sync::mpsc::channel();
            staging.slice(0..batch.gpu_bytes).map_async(wgpu::MapMode::Read, move |r| {
                let _ = sender.send(r);
            });
            receiver
        });
        Ok(InFlight { batch, slot, index, mapped })
    }

    /// Waits for a batch and hands its pieces, GPU-made and host-made, to `sink` in order.
    fn hand_over(&self, done: InFlight, sink: &mut dyn FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        wait_for(&self.gpu.device, done.index)?;
        let staging = &self.slots[done.slot].staging;
        let view = match &done.mapped {
            Some(receiver) => {
                receiver.recv().map_err(|e| Error::Gpu(e.to_string()))?.map_err(|e| Error::Gpu(e.to_string()))?;
                Some(staging.slice(0..done.batch.gpu_bytes).get_mapped_range().map_err(|e| Error::Gpu(e.to_string()))?)
            }
            None => None,
        };
        for (piece, at) in &done.batch.items {
            let t = &self.plan.tensors[piece.tensor];
            match (at, &view) {
                (Some(at), Some(view)) => {
                    let len = (piece.elements.end - piece.elements.start) * t.element.size();
                    sink(piece.tensor, &view[at.start as usize..(at.start + len) as usize])?;
                }
                _ => sink(piece.tensor, &host_bytes(t, piece.elements.clone())?)?,
            }
        }
        drop(view);
        if done.mapped.is_some() {
            staging.unmap();
        }
        Ok(())
    }
}
