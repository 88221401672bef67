//! Hugging Face's sharded checkpoint layout: `model-00001-of-0000N.safetensors` files and
//! `model.safetensors.index.json`, as `save_pretrained(max_shard_size=...)` writes them, streamed
//! into a checkpoint directory and committed as a whole (see the module `checkpoint`).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use super::atomic::{Pending, TempFile};
use super::checkpoint::{shard_file_name, OutputDir, INDEX_FILE};
use super::writer::{TensorHeader, TensorOut, TensorWriter};
use crate::error::{Error, Result};

/// Metadata keys that describe one tensor: `nninit.tensor.NAME`. A shard's metadata holds only
/// those of its own tensors.
pub const TENSOR_METADATA_PREFIX: &str = "nninit.tensor.";

/// Parses a shard size as Hugging Face's `max_shard_size` does: a number of bytes with an
/// optional unit, decimal (`KB`, `MB`, `GB`, `TB`: powers of 1000) or binary (`KiB`, `MiB`,
/// `GiB`, `TiB`), fractions allowed (`1.5GB`). Zero and sizes beyond 2^64 bytes are refused, and
/// so is a decimal unit spelled with a lowercase `b` (`5Gb`, `500mb`): transformers reads that
/// `b` as bits, huggingface_hub as bytes, so the spelling is ambiguous.
///
/// ```
/// use nninit::io::parse_size;
/// assert_eq!(parse_size("5GB")?, 5_000_000_000);
/// assert_eq!(parse_size("100KiB")?, 102_400);
/// assert_eq!(parse_size("1234")?, 1234);
/// assert!(parse_size("0MB").is_err() && parse_size("five").is_err() && parse_size("5Gb").is_err());
/// # Ok::<(), nninit::Error>(())
/// ```
pub fn parse_size(text: &str) -> Result<u64> {
    let bad = || {
        Error::InvalidParameter(format!(
            "shard size {text:?} is not a size such as 5GB, 500MB, 100KB or 2GiB (a number of bytes and a unit)"
        ))
    };
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim();
    let decimal = ["kb", "mb", "gb", "tb"].contains(&unit.to_ascii_lowercase().as_str());
    if decimal && unit.ends_with('b') {
        let upper = unit.to_ascii_uppercase();
        return Err(Error::InvalidParameter(format!(
            "shard size {text:?} is ambiguous: transformers reads a lowercase b as bits, huggingface_hub as bytes; write {number}{upper} for bytes"
        )));
    }
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = (value * scale as f64).floor();
    if bytes >= u64::MAX as f64 {
        return Err(Error::InvalidParameter(format!("shard size {text:?} is too large: at most 2^64 - 1 bytes")));
    }
    if bytes < 1.0 {
        return Err(Error::InvalidParameter(format!("shard size {text:?} must be at least one byte")));
    }
    Ok(bytes as u64)
}

/// Splits tensors (in order) into shards of at most `max_bytes` of tensor data, as Hugging
/// Face does: a tensor goes into the current shard unless that would take it over the limit,
/// then it starts a new one; a tensor larger than the limit gets a shard of its own.
pub fn plan_shards(tensors: &[TensorHeader], max_bytes: u64) -> Result<Vec<Range<usize>>> {
    let mut shards = Vec::new();
    let (mut start, mut size) = (0, 0u64);
    for (i, t) in tensors.iter().enumerate() {
        let bytes = t.bytes()?;
        if i > start && size.saturating_add(bytes) > max_bytes {
            shards.push(start..i);
            (start, size) = (i, 0);
        }
        size = size.saturating_add(bytes);
    }
    if start < tensors.len() || shards.is_empty() {
        shards.push(start..tensors.len());
    }
    Ok(shards)
}

/// Writes a Hugging Face sharded checkpoint into a directory, streamed like [`TensorWriter`]:
/// the tensors' data in header order, in pieces of any size. Each shard's metadata holds the
/// given metadata and `"format": "pt"`, with only its own tensors' keys of
/// [`TENSOR_METADATA_PREFIX`]; the index maps every tensor to its file and records `total_size`
/// (bytes of tensor data). One shard is written as `model.safetensors` with no index, as
/// `save_pretrained` does. Files of the directory that are not the checkpoint's stay; the new
/// checkpoint replaces the old one on [`ShardedWriter::finish`] (see the module `checkpoint`),
/// or nothing changes.
///
/// ```
/// use nninit::io::{ShardedWriter, TensorHeader, TensorOut};
/// let dir = std::env::temp_dir().join(format!("nninit-doc-sharded-{}", std::process::id()));
/// let header = |name: &str| TensorHeader { name: name.into(), dtype: safetensors::Dtype::F32, shape: vec![4] };
/// let mut writer = ShardedWriter::create(&dir, &[header("a"), header("b")], &Default::default(), 16, true)?;
/// writer.write(&[0u8; 32])?; // both tensors' bytes, in any pieces
/// writer.finish()?;
/// assert!(dir.join("model-00002-of-00002.safetensors").is_file());
/// assert!(dir.join("model.safetensors.index.json").is_file());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Debug)]
pub struct ShardedWriter {
    // Dropped in this order: the shards' temporary files go before the directory, which is
    // removed if this run created it and it is empty.
    /// The shard being written and its writer.
    current: Option<TensorWriter>,
    /// The shards written, waiting for the commit.
    written: Vec<Pending>,
    dir: OutputDir,
    tensors: Vec<TensorHeader>,
    metadata: HashMap<String, String>,
    shards: Vec<Range<usize>>,
    /// The next shard to open.
    next: usize,
    total: u64,
}

impl ShardedWriter {
    /// Checks the target directory (a directory or a path where one can be created; without
    /// `replace`, holding no checkpoint), creates it if need be, and plans the shards.
    pub fn create(
        dir: &Path,
        tensors: &[TensorHeader],
        metadata: &HashMap<String, String>,
        max_shard_bytes: u64,
        replace: bool,
    ) -> Result<Self> {
        if max_shard_bytes == 0 {
            return Err(Error::InvalidParameter("the shard size must be at least one byte".into()));
        }
        let shards = plan_shards(tensors, max_shard_bytes)?;
        let total = tensors.iter().try_fold(0u64, |n, t| n.checked_add(t.bytes()?).ok_or_else(too_large))?;
        let mut metadata = metadata.clone();
        metadata.insert("format".into(), "pt".into());
        let dir = OutputDir::create(dir, replace)?;
        let mut writer = Self {
            current: None,
            written: Vec::with_capacity(shards.len()),
            dir,
            tensors: tensors.to_vec(),
            metadata,
            shards,
            next: 0,
            total,
        };
        writer.open_next()?;
        Ok(writer)
    }

    /// The shards' file names, in order.
    pub fn files(&self) -> Vec<String> {
        (0..self.shards.len()).map(|i| shard_file_name(i, self.shards.len())).collect()
    }

    /// Finishes the current shard (if any) and opens the next one.
    fn open_next(&mut self) -> Result<()> {
        if let Some(writer) = self.current.take() {
            self.written.push(writer.finish_pending()?);
        }
        if self.next < self.shards.len() {
            let index = self.next;
            let target = self.dir.join(&shard_file_name(index, self.shards.len()));
            let tensors = &self.tensors[self.shards[index].clone()];
            let metadata = shard_metadata(&self.metadata, tensors);
            let temp = TempFile::create_as(target.clone(), self.dir.token())?;
            self.current = Some(TensorWriter::create_in(&target, temp, tensors, &metadata)?);
            self.next += 1;
        }
        Ok(())
    }

    /// The index file's JSON.
    fn index_json(&self) -> Vec<u8> {
        let mut weight_map = BTreeMap::new();
        for (i, shard) in self.shards.iter().enumerate() {
            for t in &self.tensors[shard.clone()] {
                weight_map.insert(t.name.clone(), shard_file_name(i, self.shards.len()));
            }
        }
        let json = serde_json::json!({"metadata": {"total_size": self.total}, "weight_map": weight_map});
        let mut text = serde_json::to_string_pretty(&json).expect("JSON values serialize");
        text.push('\n');
        text.into_bytes()
    }
}

/// A shard's metadata: the keys that describe no one tensor, and those of its own `tensors`.
fn shard_metadata(metadata: &HashMap<String, String>, tensors: &[TensorHeader]) -> HashMap<String, String> {
    let mut own: HashMap<String, String> = metadata
        .iter()
        .filter(|(k, _)| !k.starts_with(TENSOR_METADATA_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for t in tensors {
        let key = format!("{TENSOR_METADATA_PREFIX}{}", t.name);
        if let Some(value) = metadata.get(&key) {
            own.insert(key, value.clone());
        }
    }
    own
}

impl TensorOut for ShardedWriter {
    fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let Some(writer) = self.current.as_mut() else {
                return Err(Error::SafeTensors(format!(
                    "{}: more data than the shards' {} bytes",
                    self.dir.join("").display(),
                    self.total
                )));
            };
            if writer.remaining() == 0 {
                self.open_next()?;
                continue;
            }
            let take = (writer.remaining().min(bytes.len() as u64)) as usize;
            writer.write(&bytes[..take])?;
            bytes = &bytes[take..];
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        while self.current.is_some() {
            self.open_next()?;
        }
        let index = match self.shards.len() {
            1 => None,
            _ => {
                let target = self.dir.join(INDEX_FILE);
                let mut temp = TempFile::create_as(target.clone(), self.dir.token())?;
                std::io::Write::write_all(temp.file(), &self.index_json())
                    .map_err(|source| super::atomic::io_error(temp.path(), source))?;
                Some(temp.finish_pending()?)
            }
        };
        let written = std::mem::take(&mut self.written);
        let Self { dir, .. } = self;
        dir.commit(written, index)
    }
}

fn too_large() -> Error {
    Error::InvalidShape("the checkpoint's data would exceed 2^64 bytes".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, n: usize) -> TensorHeader {
        TensorHeader { name: name.into(), dtype: safetensors::Dtype::U8, shape: vec![n] }
    }

    #[test]
    fn shards_follow_hugging_face_greedy_split() {
        let t = [header("a", 40), header("b", 40), header("c", 30), header("d", 150), header("e", 10)];
        assert_eq!(plan_shards(&t, 100).unwrap(), vec![0..2, 2..3, 3..4, 4..5]);
        assert_eq!(plan_shards(&t, 1000).unwrap(), vec![0..5]);
        assert_eq!(plan_shards(&[], 10).unwrap(), vec![0..0]);
    }

    #[test]
    fn sizes_parse_as_hugging_face_counts_them() {
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("2gib").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5GB").unwrap(), 1_500_000_000);
        assert_eq!(parse_size(" 100 KB ").unwrap(), 100_000);
        for bad in ["", "0", "0.1B", "-5GB", "5XB", "GB", "1e3", "nan", "5Gb", "500mb", "1kb", "2tb"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        // Beyond 2^64 bytes: too large, not "at least one byte".
        for huge in ["18446744073709551615", "20000000000TB"] {
            let message = parse_size(huge).unwrap_err().to_string();
            assert!(message.contains("too large"), "{huge}: {message}");
        }
        assert_eq!(parse_size("18446744073709549568").unwrap(), 18446744073709549568);
    }
}
