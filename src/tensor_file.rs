//! Safetensors output, written atomically: a temporary file beside the target, then a rename,
//! so a failed run never leaves a half-written file or clobbers an existing one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;

use crate::dtype::Dtype;
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
/// use nninit::tensor_file::{write_atomic, TensorData};
/// use nninit::Dtype;
/// let dir = std::env::temp_dir().join("nninit-doc-write");
/// std::fs::create_dir_all(&dir).unwrap();
/// let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
/// let tensor = TensorData { name: "weight", dtype: Dtype::F32, shape: &[2, 2], data: &data };
/// write_atomic(&dir.join("w.safetensors"), &[tensor], &Default::default())?;
/// # Ok::<(), nninit::Error>(())
/// ```
pub fn write_atomic(path: &Path, tensors: &[TensorData<'_>], metadata: &HashMap<String, String>) -> Result<()> {
    let mut views = Vec::with_capacity(tensors.len());
    for t in tensors {
        let view = TensorView::new(t.dtype.safetensors(), t.shape.to_vec(), t.data)
            .map_err(|e| Error::SafeTensors(format!("{}: {e}", t.name)))?;
        views.push((t.name, view));
    }
    let temp = temp_path(path);
    let metadata = (!metadata.is_empty()).then(|| metadata.clone());
    let written = safetensors::serialize_to_file(views, metadata, &temp)
        .map_err(|e| Error::SafeTensors(format!("{}: {e}", path.display())))
        .and_then(|()| std::fs::File::open(&temp).and_then(|f| f.sync_all()).map_err(|source| io_error(&temp, source)))
        .and_then(|()| std::fs::rename(&temp, path).map_err(|source| io_error(path, source)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.nninit-{}.tmp", std::process::id()))
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), source }
}
