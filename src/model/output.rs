//! Runs into files: a model, or one fill, streamed into a safetensors file or a Hugging Face
//! sharded directory, atomically, with a writer thread writing one piece while the backend
//! makes the next. Memory stays bounded (a few pieces) whatever the output's size.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::contract::dtype::Dtype;
use crate::cpu::{Lend, Make};
use crate::error::{Error, Result};
use crate::io::{ShardedWriter, TensorHeader, TensorOut, TensorStream, TensorWriter};
use crate::scheme::{Fill, Region};

use super::resolved::Model;
use super::run::{Backend, RunSummary};

/// Largest piece the CPU makes at once for a file ([`Model::PIECE_BYTES`] is the GPU's): small
/// enough that the piece is still in cache when the writer thread copies it into the file.
/// `nninit fill normal --shape 16384,16384` into `/dev/shm` (2-core Xeon, three runs each) took
/// 0.68-0.75 s in 64 MiB pieces copied to the writer, 0.53-0.60 s in 8 MiB pieces copied, and
/// made in the writer's own buffer 0.48-0.51 s (4 MiB), 0.45-0.51 s (8), 0.47-0.49 s (16),
/// 0.50-0.53 s (32); 1 MiB pieces copied took 0.70-0.73 s (too many hand-overs).
const CPU_PIECE_BYTES: u64 = 8 << 20;

/// Where a run's tensors go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// One safetensors file, replaced atomically.
    File(PathBuf),
    /// A Hugging Face checkpoint directory (see [`crate::io::ShardedWriter`]): shards of at most
    /// `max_shard_bytes` bytes of tensor data and `model.safetensors.index.json`, written into the
    /// directory (created if need be) beside the files that are not the checkpoint's, which stay.
    /// A checkpoint already there is refused, unless `replace`.
    Sharded {
        /// The directory.
        dir: PathBuf,
        /// The largest shard, in bytes of tensor data (a larger tensor gets a shard alone).
        max_shard_bytes: u64,
        /// Replace a checkpoint the directory already holds.
        replace: bool,
    },
    /// One safetensors file streamed to standard output (a pipe): the header, then the data in
    /// order; not atomic (see [`crate::io::TensorStream`]).
    Stdout,
}

impl Destination {
    /// The file or directory.
    pub fn path(&self) -> &Path {
        match self {
            Destination::File(path) => path,
            Destination::Sharded { dir, .. } => dir,
            Destination::Stdout => Path::new("-"),
        }
    }

    /// Checks what can be checked before any work: that a file's path names a regular file or
    /// a new one in an existing directory; that a sharded destination's directory is one or can
    /// be created, and holds no checkpoint unless `replace`.
    pub fn check(&self) -> Result<()> {
        match self {
            Destination::File(path) => crate::io::check_output_file(path),
            Destination::Stdout => Ok(()),
            Destination::Sharded { dir, replace, max_shard_bytes } => {
                if *max_shard_bytes == 0 {
                    return Err(Error::InvalidParameter("the shard size must be at least one byte".into()));
                }
                crate::io::check_output_dir(dir, *replace)
            }
        }
    }

    /// Refuses a destination that is, or holds, the checkpoint at `source` (a file, an index or
    /// a directory) that the run reads: reading and replacing the same checkpoint.
    pub fn check_apart_from(&self, source: &Path) -> Result<()> {
        let checkpoint = crate::io::Checkpoint::open(source)?;
        let canonical = |p: &Path| std::fs::canonicalize(p).ok();
        let files: Vec<PathBuf> =
            checkpoint.files().iter().map(|f| f.path()).chain(checkpoint.index()).filter_map(canonical).collect();
        let same = match self {
            Destination::File(path) => canonical(path).is_some_and(|p| files.contains(&p)),
            Destination::Sharded { dir, .. } => {
                canonical(dir).is_some_and(|dir| files.iter().any(|f| f.parent() == Some(dir.as_path())))
            }
            Destination::Stdout => false,
        };
        if same {
            return Err(Error::InvalidOutput(format!(
                "{} holds the checkpoint being read ({}): refusing to read and replace the same checkpoint; write the new one elsewhere",
                self.path().display(),
                source.display()
            )));
        }
        Ok(())
    }

    fn create(&self, headers: &[TensorHeader], metadata: &HashMap<String, String>) -> Result<Out> {
        Ok(match self {
            Destination::File(path) => Out::File(TensorWriter::create(path, headers, metadata)?),
            Destination::Sharded { dir, max_shard_bytes, replace } => {
                Out::Sharded(Box::new(ShardedWriter::create(dir, headers, metadata, *max_shard_bytes, *replace)?))
            }
            Destination::Stdout => Out::Stdout(TensorStream::new(std::io::stdout(), headers, metadata)?),
        })
    }
}

/// The writer of each destination.
enum Out {
    File(TensorWriter),
    Sharded(Box<ShardedWriter>),
    Stdout(TensorStream<std::io::Stdout>),
}

impl TensorOut for Out {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            Out::File(w) => TensorOut::write(w, bytes),
            Out::Sharded(w) => w.write(bytes),
            Out::Stdout(w) => TensorOut::write(w, bytes),
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Out::File(w) => TensorOut::finish(w),
            Out::Sharded(w) => w.finish(),
            Out::Stdout(w) => TensorOut::finish(w),
        }
    }
}

/// Where a run hands its bytes, in output order: `lend(bytes, make)` lends `make` the buffer
/// the writer thread will write (see [`crate::cpu::Lend`]).
type Produce<'p> = Lend<'p>;

/// Creates `to` for `headers`, then runs `produce`, whose pieces a writer thread writes while
/// the next one is made; `progress(done, total)` follows each piece.
fn write_streamed(
    to: &Destination,
    headers: &[TensorHeader],
    metadata: &HashMap<String, String>,
    progress: &mut dyn FnMut(u64, u64),
    produce: impl FnOnce(&mut Produce<'_>) -> Result<()>,
) -> Result<(u64, Vec<PathBuf>)> {
    let total = headers.iter().try_fold(0u64, |n, h| n.checked_add(h.bytes()?).ok_or_else(too_large))?;
    let mut writer = to.create(headers, metadata)?;
    let files = match &writer {
        Out::File(_) => vec![to.path().to_path_buf()],
        Out::Sharded(w) => w.files().iter().map(|f| to.path().join(f)).collect(),
        Out::Stdout(_) => Vec::new(),
    };
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
    // Written pieces come back to be filled again: a piece is made in memory that is already
    // mapped (and, at CPU_PIECE_BYTES, still in cache when it is written), not in a fresh
    // allocation whose every page faults on first touch.
    let (recycle, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let written = scope.spawn(move || -> Result<Out> {
            for piece in receiver {
                writer.write(&piece)?;
                let _ = recycle.send(piece);
            }
            Ok(writer)
        });
        let mut done = 0u64;
        progress(0, total);
        let produced = produce(&mut |bytes: usize, make: &mut Make<'_>| {
            let mut piece = recycled.try_recv().unwrap_or_default();
            crate::cpu::lend_from(&mut piece, bytes, "a piece of the output")?;
            piece.truncate(bytes);
            make(&mut piece)?;
            sender.send(piece).map_err(|_| Error::SafeTensors("the writer thread stopped".into()))?;
            done += bytes as u64;
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
    Ok((total, files))
}

/// Hands `bytes`, made elsewhere (the GPU's staging memory), to `lend` as one piece: they are
/// copied into the lent buffer.
fn copy_into(lend: &mut Produce<'_>, bytes: &[u8]) -> Result<()> {
    lend(bytes.len(), &mut |part| {
        part.copy_from_slice(bytes);
        Ok(())
    })
}

fn too_large() -> Error {
    Error::InvalidShape("the output's data would exceed 2^64 bytes".into())
}

impl Model {
    /// Writes the model to `to` (one safetensors file, or Hugging Face shards), atomically,
    /// streaming pieces from `backend` to disk; `progress(bytes done, bytes total)` is called
    /// after each piece. Every file's metadata is [`Model::metadata`] plus `extra`. It blocks: a
    /// writer thread writes while the backend makes the next piece.
    pub fn write_safetensors_blocking(
        &self,
        to: &Destination,
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
        let (bytes, files) = write_streamed(to, &headers, &metadata, progress, |lend| match backend {
            Backend::Cpu(cpu) => self.produce_lent(cpu, CPU_PIECE_BYTES, &mut |_, bytes, make| lend(bytes, make)),
            Backend::Gpu(_) => {
                self.produce_blocking(backend, Self::PIECE_BYTES, &mut |_, bytes| copy_into(lend, bytes))
            }
        })?;
        Ok(RunSummary {
            tensors: self.tensors.len(),
            elements: self.elements(),
            bytes,
            seconds: started.elapsed().as_secs_f64(),
            backend: backend.describe(),
            files,
        })
    }
}

/// One tensor to write with [`write_fill_blocking`]: `region` of `fill` as `dtype`, stored as
/// `name`.
#[derive(Clone, Copy, Debug)]
pub struct FillOutput<'a> {
    /// The name it is stored under.
    pub name: &'a str,
    /// What to fill.
    pub fill: &'a Fill,
    /// Which part of it (a shard is stored with the shard's shape).
    pub region: &'a Region,
    /// The element type written.
    pub dtype: Dtype,
}

impl FillOutput<'_> {
    /// The stored tensor's shape: the region's (a shard's block, a range's length).
    pub fn shape(&self) -> Result<Vec<usize>> {
        let shape = self.fill.plan().map(|p| p.shape());
        match (self.region, shape) {
            (Region::All, Some(shape)) => Ok(shape.to_vec()),
            (Region::Shard(shard), Some(shape)) => shard.shape(shape),
            (Region::Block(block), Some(shape)) => crate::scheme::block_shape(block, shape),
            (Region::Elements(range), _) => {
                self.fill.segments(self.region)?;
                usize::try_from(range.end - range.start)
                    .map(|n| vec![n])
                    .map_err(|_| Error::InvalidShape(format!("elements {range:?} are too many")))
            }
            (_, None) => Err(Error::InvalidShape("raw words have no shape: give an element range".into())),
        }
    }
}

/// Fills one tensor on `backend` and writes it to `to` (a file, or Hugging Face shards),
/// streamed and atomic as [`Model::write_safetensors_blocking`]: a tensor larger than memory
/// passes through in pieces (of [`Model::PIECE_BYTES`] from a GPU, of a few MiB from the CPU).
///
/// ```
/// use nninit::model::{write_fill_blocking, Backend, Destination, FillOutput};
/// use nninit::{cpu::CpuBackend, Dtype, Fill, Region, Scheme, Stream};
/// let fill = Fill::new(&Scheme::normal(0.0, 0.02)?, &[64, 64], Stream::new(7, 0))?;
/// let to = Destination::File(std::env::temp_dir().join("nninit-doc-fill.safetensors"));
/// let tensor = FillOutput { name: "weight", fill: &fill, region: &Region::All, dtype: Dtype::Bf16 };
/// let summary = write_fill_blocking(&to, &tensor, Backend::Cpu(&CpuBackend::new()), &Default::default(), &mut |_, _| {})?;
/// assert_eq!(summary.bytes, 64 * 64 * 2);
/// # Ok::<(), nninit::Error>(())
/// ```
pub fn write_fill_blocking(
    to: &Destination,
    tensor: &FillOutput<'_>,
    backend: Backend<'_>,
    metadata: &HashMap<String, String>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RunSummary> {
    let started = Instant::now();
    let shape = tensor.shape()?;
    let header = TensorHeader { name: tensor.name.to_string(), dtype: tensor.dtype.safetensors(), shape };
    let elements = header.bytes()? / tensor.dtype.size();
    let (bytes, files) = write_streamed(to, std::slice::from_ref(&header), metadata, progress, |lend| {
        let FillOutput { fill, region, dtype, .. } = *tensor;
        match backend {
            Backend::Cpu(cpu) => cpu.fill_lent(fill, region, dtype, CPU_PIECE_BYTES, lend),
            Backend::Gpu(gpu) => {
                gpu.fill_streamed_blocking(fill, region, dtype, Model::PIECE_BYTES, &mut |bytes| copy_into(lend, bytes))
            }
        }
    })?;
    Ok(RunSummary {
        tensors: 1,
        elements,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        backend: backend.describe(),
        files,
    })
}
