//! Layer 3, safetensors I/O: files written atomically and streamed (a locked temporary file
//! beside the target, then a rename, so a failed or interrupted run never leaves a half-written
//! file or clobbers an existing one), Hugging Face checkpoint directories written into without
//! touching the user's other files (see [`Checkpoint`] and the commit point in the module
//! `checkpoint`), and files read tensor by tensor in bounded pieces, so models larger than memory
//! pass through.

mod atomic;
mod checkpoint;
mod decode;
mod reader;
mod sharded;
mod writer;

use std::collections::HashMap;
use std::path::Path;

pub use atomic::{check_output_file, interrupt_writes, writes_interrupted};
pub use checkpoint::{check_output_dir, is_checkpoint_file, shard_file_name, Checkpoint, INDEX_FILE, SINGLE_FILE};
pub use decode::{decode_f32_bits, decode_f64, decode_i64, is_float};
pub use reader::{TensorEntry, TensorFile};
pub use sharded::{parse_size, plan_shards, ShardedWriter, TENSOR_METADATA_PREFIX};
pub use writer::{check_tensor_name, write_bytes_atomic, TensorHeader, TensorOut, TensorStream, TensorWriter};

use crate::contract::dtype::Dtype;
use crate::error::{Error, Result};

/// One tensor to write: its name, dtype, shape and little-endian data.
#[derive(Clone, Debug)]
pub struct TensorData<'a> {
    /// The name it is stored under.
    pub name: &'a str,
    /// Its element type.
    pub dtype: Dtype,
    /// Its shape.
    pub shape: &'a [usize],
    /// Its values, row-major, little-endian.
    pub data: &'a [u8],
}

/// Writes `tensors` and `metadata` to the safetensors file `path`, atomically.
///
/// ```
/// use nninit::io::{write_atomic, TensorData, TensorFile};
/// use nninit::Dtype;
/// let dir = std::env::temp_dir().join("nninit-doc-write");
/// std::fs::create_dir_all(&dir).unwrap();
/// let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
/// let tensor = TensorData { name: "weight", dtype: Dtype::F32, shape: &[2, 2], data: &data };
/// write_atomic(&dir.join("w.safetensors"), &[tensor], &Default::default())?;
/// let file = TensorFile::open(&dir.join("w.safetensors"))?;
/// assert_eq!(file.read_all(file.entry("weight").unwrap())?, data);
/// # Ok::<(), nninit::Error>(())
/// ```
pub fn write_atomic(path: &Path, tensors: &[TensorData<'_>], metadata: &HashMap<String, String>) -> Result<()> {
    let headers: Vec<TensorHeader> = tensors
        .iter()
        .map(|t| TensorHeader { name: t.name.to_string(), dtype: t.dtype.safetensors(), shape: t.shape.to_vec() })
        .collect();
    let mut writer = TensorWriter::create(path, &headers, metadata)?;
    for t in tensors {
        writer.write(t.data)?;
    }
    writer.finish()
}

/// Reads a JSON file into `T`, with the file's name in errors.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::InvalidParameter(format!("{}: {e}", path.display())))
}
