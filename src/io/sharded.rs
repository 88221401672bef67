//! Hugging Face's sharded checkpoint layout: a directory of `model-00001-of-0000N.safetensors`
//! files and `model.safetensors.index.json`, as `save_pretrained(max_shard_size=...)` writes it,
//! streamed and atomic as a whole.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::atomic::TempDir;
use super::writer::{write_bytes_atomic, TensorHeader, TensorOut, TensorWriter};
use crate::error::{Error, Result};

/// The index file's name.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// The single file's name when everything fits in one shard (as `save_pretrained` does).
pub const SINGLE_FILE: &str = "model.safetensors";

/// Parses a shard size as Hugging Face's `max_shard_size` does: a number of bytes with an
/// optional unit, decimal (`KB`, `MB`, `GB`, `TB`: powers of 1000) or binary (`KiB`, `MiB`,
/// `GiB`, `TiB`), any case, fractions allowed (`1.5GB`). Zero is refused.
///
/// ```
/// use nninit::io::parse_size;
/// assert_eq!(parse_size("5GB")?, 5_000_000_000);
/// assert_eq!(parse_size("100KiB")?, 102_400);
/// assert_eq!(parse_size("1234")?, 1234);
/// assert!(parse_size("0MB").is_err() && parse_size("five").is_err());
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
    let unit = unit.trim().to_ascii_lowercase();
    let scale: u64 = match unit.as_str() {
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
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
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

/// The file name of shard `index` (from 0) of `count`: `model-00001-of-00003.safetensors`, or
/// `model.safetensors` alone.
pub fn shard_file_name(index: usize, count: usize) -> String {
    if count == 1 {
        SINGLE_FILE.to_string()
    } else {
        format!("model-{:05}-of-{:05}.safetensors", index + 1, count)
    }
}

/// Writes a Hugging Face sharded checkpoint into a directory, streamed like [`TensorWriter`]:
/// the tensors' data in header order, in pieces of any size. Every shard's metadata holds the
/// given metadata and `"format": "pt"`; the index maps every tensor to its file and records
/// `total_size` (bytes of tensor data). One shard is written as `model.safetensors` with no
/// index, as `save_pretrained` does. The directory appears whole on [`ShardedWriter::finish`]
/// (see the module `atomic`), or not at all.
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
    dir: TempDir,
    tensors: Vec<TensorHeader>,
    metadata: HashMap<String, String>,
    shards: Vec<Range<usize>>,
    /// The shard being written and its writer.
    current: Option<(usize, TensorWriter)>,
    /// The next shard to open.
    next: usize,
    total: u64,
}

impl ShardedWriter {
    /// Checks the target directory (absent, empty, or any directory with `replace`), creates
    /// the temporary directory beside it and plans the shards.
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
        let temp = TempDir::create(dir, replace)?;
        let mut writer = Self { dir: temp, tensors: tensors.to_vec(), metadata, shards, current: None, next: 0, total };
        writer.open_next()?;
        Ok(writer)
    }

    /// The shards' file names, in order.
    pub fn files(&self) -> Vec<String> {
        (0..self.shards.len()).map(|i| shard_file_name(i, self.shards.len())).collect()
    }

    /// Finishes the current shard (if any) and opens the next one.
    fn open_next(&mut self) -> Result<()> {
        if let Some((_, writer)) = self.current.take() {
            writer.finish()?;
        }
        if self.next < self.shards.len() {
            let index = self.next;
            let path = self.dir.path().join(shard_file_name(index, self.shards.len()));
            let writer = TensorWriter::create(&path, &self.tensors[self.shards[index].clone()], &self.metadata)?;
            self.current = Some((index, writer));
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

impl TensorOut for ShardedWriter {
    fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let Some((_, writer)) = self.current.as_mut() else {
                return Err(Error::SafeTensors(format!(
                    "{}: more data than the shards' {} bytes",
                    self.dir.path().display(),
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
        if self.shards.len() > 1 {
            write_bytes_atomic(&self.dir.path().join(INDEX_FILE), &self.index_json())?;
        }
        self.dir.commit()
    }
}

fn too_large() -> Error {
    Error::InvalidShape("the checkpoint's data would exceed 2^64 bytes".into())
}

/// The files a sharded checkpoint directory holds, from its index (or its single file).
pub fn checkpoint_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join(INDEX_FILE);
    if index.is_file() {
        let files = index_files(&index)?;
        return Ok(files.into_iter().map(|f| dir.join(f)).collect());
    }
    Ok(vec![dir.join(SINGLE_FILE)])
}

/// The shard file names an index file maps tensors to, in first-seen order by name.
pub fn index_files(index: &Path) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: BTreeMap<String, String>,
    }
    let parsed: Index = super::read_json(index)?;
    let mut files: Vec<String> = parsed.weight_map.into_values().collect();
    files.sort();
    files.dedup();
    for f in &files {
        let plain = Path::new(f).components().all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain {
            return Err(Error::InvalidParameter(format!(
                "{}: shard file {f:?} is not a plain name inside the checkpoint's directory",
                index.display()
            )));
        }
    }
    Ok(files)
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
        for bad in ["", "0", "0.1B", "-5GB", "5XB", "GB", "1e3", "nan"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
