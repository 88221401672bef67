//! Reading any safetensors file (nninit's, PyTorch's, Hugging Face's) tensor by tensor, without
//! loading the whole file: the header is parsed and checked, the data read in ranges on demand.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use safetensors::tensor::Metadata;

use super::atomic::io_error;
use crate::error::{Error, Result};

/// Largest header accepted (the safetensors crate's own limit).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor of a [`TensorFile`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    /// Its name.
    pub name: String,
    /// Its element type.
    pub dtype: safetensors::Dtype,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Where its bytes lie in the file (absolute offsets).
    pub bytes: Range<u64>,
}

impl TensorEntry {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }
}

/// An open safetensors file: its header, and its data read on demand.
#[derive(Debug)]
pub struct TensorFile {
    path: PathBuf,
    file: Mutex<File>,
    entries: Vec<TensorEntry>,
    metadata: HashMap<String, String>,
}

impl TensorFile {
    /// Opens `path` and checks its header against the file's length.
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |why: String| Error::SafeTensors(format!("{}: {why}", path.display()));
        let mut file = File::open(path).map_err(|source| io_error(path, source))?;
        let length = file.metadata().map_err(|source| io_error(path, source))?.len();
        let mut prefix = [0u8; 8];
        file.read_exact(&mut prefix).map_err(|_| bad("too short for a safetensors header".into()))?;
        let header_len = u64::from_le_bytes(prefix);
        if header_len > MAX_HEADER || 8 + header_len > length {
            return Err(bad(format!("header length {header_len} does not fit the file's {length} bytes")));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header).map_err(|source| io_error(path, source))?;
        let parsed: Metadata = serde_json::from_slice(&header).map_err(|e| bad(format!("invalid header: {e}")))?;
        let data_start = 8 + header_len;
        let mut entries: Vec<TensorEntry> = parsed
            .tensors()
            .into_iter()
            .map(|(name, info)| TensorEntry {
                name,
                dtype: info.dtype,
                shape: info.shape.clone(),
                bytes: data_start + info.data_offsets.0 as u64..data_start + info.data_offsets.1 as u64,
            })
            .collect();
        entries.sort_by_key(|e| e.bytes.start);
        let data_end = entries.last().map_or(data_start, |e| e.bytes.end);
        if data_end != length {
            return Err(bad(format!("the header describes {data_end} bytes, the file has {length}")));
        }
        let metadata = parsed.metadata().clone().unwrap_or_default();
        Ok(Self { path: path.to_path_buf(), file: Mutex::new(file), entries, metadata })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tensors, in file order.
    pub fn entries(&self) -> &[TensorEntry] {
        &self.entries
    }

    /// The tensor named `name`.
    pub fn entry(&self, name: &str) -> Option<&TensorEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The header's `__metadata__` (empty when absent).
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// Bytes `range` of `entry`'s data (offsets relative to the tensor's first byte).
    pub fn read(&self, entry: &TensorEntry, range: Range<u64>) -> Result<Vec<u8>> {
        let size = entry.bytes.end - entry.bytes.start;
        if range.start > range.end || range.end > size {
            return Err(Error::InvalidShape(format!(
                "{}: bytes {range:?} are outside the tensor's {size}",
                entry.name
            )));
        }
        let what = format!("{} bytes of tensor {}", range.end - range.start, entry.name);
        let mut out = crate::error::try_vec((range.end - range.start) as usize, 0u8, &what)?;
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek(SeekFrom::Start(entry.bytes.start + range.start))
            .and_then(|_| file.read_exact(&mut out))
            .map_err(|source| io_error(&self.path, source))?;
        Ok(out)
    }

    /// All of `entry`'s data.
    pub fn read_all(&self, entry: &TensorEntry) -> Result<Vec<u8>> {
        self.read(entry, 0..entry.bytes.end - entry.bytes.start)
    }
}
