//! A safetensors file written as a stream: the header first (every tensor's name, dtype, shape
//! and offsets are known up front), then the tensors' bytes in order, in pieces of any size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Metadata, TensorInfo};

use super::atomic::{io_error, Pending, TempFile};
use crate::error::{Error, Result};

/// A tensor's entry in the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorHeader {
    /// The name it is stored under.
    pub name: String,
    /// Its element type.
    pub dtype: safetensors::Dtype,
    /// Its shape.
    pub shape: Vec<usize>,
}

impl TensorHeader {
    /// Its data size in bytes.
    pub fn bytes(&self) -> Result<u64> {
        let elements = self.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
        elements
            .and_then(|n| n.checked_mul(self.dtype.bitsize() as u64))
            .map(|bits| bits.div_ceil(8))
            .ok_or_else(|| Error::InvalidShape(format!("{}: shape {:?} is too large", self.name, self.shape)))
    }
}

/// Writes one safetensors file atomically (see [`super::interrupt_writes`] and the module
/// `atomic`): into a temporary file beside the target, renamed over it by
/// [`TensorWriter::finish`]; dropped unfinished, the temporary file is removed.
///
/// ```
/// use nninit::io::{TensorHeader, TensorWriter};
/// let path = std::env::temp_dir().join("nninit-doc-stream.safetensors");
/// let header = TensorHeader { name: "x".into(), dtype: safetensors::Dtype::F32, shape: vec![4] };
/// let mut writer = TensorWriter::create(&path, &[header], &Default::default())?;
/// writer.write(&[0u8; 8])?; // the tensor's bytes, in any pieces
/// writer.write(&[0u8; 8])?;
/// writer.finish()?;
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Debug)]
pub struct TensorWriter {
    path: PathBuf,
    temp: TempFile,
    out: Option<BufWriter<File>>,
    expected: u64,
    written: u64,
}

impl TensorWriter {
    /// Creates the temporary file and writes the header for `tensors`, whose data must then be
    /// written in this order.
    pub fn create(path: &Path, tensors: &[TensorHeader], metadata: &HashMap<String, String>) -> Result<Self> {
        let (header, expected) = encode_header(path, tensors, metadata)?;
        Self::start(path, TempFile::create(path)?, &header, expected)
    }

    /// Writes the header for `tensors` into `temp`, a temporary file for `path` of a set (a
    /// checkpoint's shard).
    pub(crate) fn create_in(
        path: &Path,
        temp: TempFile,
        tensors: &[TensorHeader],
        metadata: &HashMap<String, String>,
    ) -> Result<Self> {
        let (header, expected) = encode_header(path, tensors, metadata)?;
        Self::start(path, temp, &header, expected)
    }

    fn start(path: &Path, mut temp: TempFile, header: &[u8], expected: u64) -> Result<Self> {
        let file = temp.file().try_clone().map_err(|source| io_error(temp.path(), source))?;
        let mut out = BufWriter::with_capacity(8 << 20, file);
        // Flushed at once: a temporary file that holds data was locked by its writer, which
        // lets a later run take it for abandoned as soon as its lock is free.
        out.write_all(header).and_then(|()| out.flush()).map_err(|source| io_error(temp.path(), source))?;
        Ok(Self { path: path.to_path_buf(), temp, out: Some(out), expected, written: 0 })
    }

    /// Appends the next `bytes` of tensor data.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.written + bytes.len() as u64 > self.expected {
            return Err(Error::SafeTensors(format!(
                "{}: more data than the header's {} bytes",
                self.path.display(),
                self.expected
            )));
        }
        let out = self.out.as_mut().expect("open until finished");
        out.write_all(bytes).map_err(|source| io_error(self.temp.path(), source))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Bytes of tensor data still expected.
    pub fn remaining(&self) -> u64 {
        self.expected - self.written
    }

    /// Checks that all data was written, flushes it to disk and renames the file into place.
    pub fn finish(self) -> Result<()> {
        self.complete()?.commit()
    }

    /// Checks that all data was written and flushes it to disk, leaving the temporary file for
    /// its set's commit.
    pub(crate) fn finish_pending(self) -> Result<Pending> {
        self.complete()?.finish_pending()
    }

    /// The temporary file, all data written through the buffer.
    fn complete(self) -> Result<TempFile> {
        if self.written != self.expected {
            return Err(Error::SafeTensors(format!(
                "{}: {} of the header's {} data bytes were written",
                self.path.display(),
                self.written,
                self.expected
            )));
        }
        let Self { temp, out, .. } = self;
        let out = out.expect("open until finished");
        let file = out.into_inner().map_err(|e| io_error(temp.path(), e.into_error()))?;
        drop(file);
        Ok(temp)
    }
}

/// Writes one safetensors file as a stream into any writer (standard output, a pipe, a socket):
/// the header, then the tensors' data in header order. Nothing here is atomic: a reader sees
/// the bytes as they come, and a failed run leaves a short stream, which safetensors readers
/// refuse (the header gives the data's length).
///
/// ```
/// use nninit::io::{TensorHeader, TensorOut, TensorStream};
/// let header = TensorHeader { name: "x".into(), dtype: safetensors::Dtype::F32, shape: vec![2] };
/// let mut stream = TensorStream::new(Vec::new(), &[header], &Default::default())?;
/// stream.write(&[0u8; 8])?;
/// let bytes = stream.into_inner()?;
/// assert!(safetensors::SafeTensors::deserialize(&bytes).is_ok());
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Debug)]
pub struct TensorStream<W: Write> {
    out: BufWriter<W>,
    expected: u64,
    written: u64,
}

impl<W: Write> TensorStream<W> {
    /// Writes the header for `tensors` into `out`; their data must then be written in order.
    pub fn new(out: W, tensors: &[TensorHeader], metadata: &HashMap<String, String>) -> Result<Self> {
        let (header, expected) = encode_header(Path::new("the stream"), tensors, metadata)?;
        let mut out = BufWriter::with_capacity(8 << 20, out);
        out.write_all(&header).map_err(stream_error)?;
        Ok(Self { out, expected, written: 0 })
    }

    /// Appends the next `bytes` of tensor data.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.written + bytes.len() as u64 > self.expected {
            return Err(Error::SafeTensors(format!("more data than the header's {} bytes", self.expected)));
        }
        self.out.write_all(bytes).map_err(stream_error)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Checks that all data was written, flushes it, and gives the writer back.
    pub fn into_inner(self) -> Result<W> {
        if self.written != self.expected {
            return Err(Error::SafeTensors(format!(
                "{} of the header's {} data bytes were written",
                self.written, self.expected
            )));
        }
        self.out.into_inner().map_err(|e| stream_error(e.into_error()))
    }
}

fn stream_error(source: std::io::Error) -> Error {
    Error::Io { path: "standard output".into(), source }
}

impl<W: Write + Send> TensorOut for TensorStream<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        TensorStream::write(self, bytes)
    }

    fn finish(self) -> Result<()> {
        self.into_inner().map(drop)
    }
}

/// A streamed safetensors output ([`TensorWriter`], [`super::ShardedWriter`], [`TensorStream`]): its header is
/// written when it is created, then its tensors' data in header order, in pieces of any size.
pub trait TensorOut: Send {
    /// Appends the next `bytes` of tensor data.
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Checks that all data was written and puts the output in place.
    fn finish(self) -> Result<()>;
}

impl TensorOut for TensorWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        TensorWriter::write(self, bytes)
    }

    fn finish(self) -> Result<()> {
        TensorWriter::finish(self)
    }
}

/// Checks that `name` can name a tensor in a safetensors file: `__metadata__` is the header's
/// metadata, so no reader could open a file with a tensor of that name.
pub fn check_tensor_name(name: &str) -> Result<()> {
    if name == "__metadata__" {
        return Err(Error::InvalidParameter(
            "the tensor name __metadata__ is reserved by safetensors for the file's metadata".into(),
        ));
    }
    Ok(())
}

/// A safetensors file's first bytes for `tensors` and `metadata` (the header's length, then the
/// header padded so the data starts aligned), and the data's length; the names, shapes and
/// metadata checked as readers will check them.
fn encode_header(path: &Path, tensors: &[TensorHeader], metadata: &HashMap<String, String>) -> Result<(Vec<u8>, u64)> {
    let mut infos = Vec::new();
    infos
        .try_reserve_exact(tensors.len())
        .map_err(|_| Error::OutOfMemory { what: format!("the header of {} tensors", tensors.len()) })?;
    let mut offset = 0u64;
    for t in tensors {
        let end = offset
            .checked_add(t.bytes()?)
            .filter(|&end| end <= isize::MAX as u64)
            .ok_or_else(|| Error::InvalidShape(format!("{}: the file's data would exceed 2^63 bytes", t.name)))?;
        let data_offsets = (offset as usize, end as usize);
        infos.push((t.name.clone(), TensorInfo { dtype: t.dtype, shape: t.shape.clone(), data_offsets }));
        offset = end;
    }
    let mut names = std::collections::HashSet::with_capacity(tensors.len());
    for t in tensors {
        check_tensor_name(&t.name)?;
        if !names.insert(t.name.as_str()) {
            return Err(Error::SafeTensors(format!("tensor name {} appears twice", t.name)));
        }
    }
    let checked = Metadata::new(Some(metadata.clone()), infos.clone());
    checked.map_err(|e| Error::SafeTensors(format!("{}: {e}", path.display())))?;
    let mut json = header_json(&infos, metadata);
    // As the safetensors crate does: pad the header with spaces so the data starts aligned.
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut header = (json.len() as u64).to_le_bytes().to_vec();
    header.extend_from_slice(&json);
    Ok((header, offset))
}

/// The header as JSON with sorted keys (tensors by name, then metadata), so equal inputs give
/// byte-identical files; readers order tensors by their offsets.
fn header_json(infos: &[(String, TensorInfo)], metadata: &HashMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        let sorted: std::collections::BTreeMap<_, _> = metadata.iter().collect();
        header.insert("__metadata__".into(), serde_json::to_value(sorted).expect("strings serialize"));
    }
    for (name, info) in infos {
        header.insert(name.clone(), serde_json::to_value(info).expect("tensor info serializes"));
    }
    serde_json::to_vec(&header).expect("JSON values serialize")
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk, then renamed
/// over it; on failure the temporary file is removed and `path` is left as it was.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut temp = TempFile::create(path)?;
    temp.file().write_all(bytes).map_err(|source| io_error(temp.path(), source))?;
    temp.commit()
}
