//! How a tensor was made, read from an nninit file's metadata.

use std::collections::HashMap;

use crate::contract::stream::Stream;
use crate::scheme::{Scheme, Shard};

/// How a tensor was made, where the file says.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "made", rename_all = "snake_case")]
pub enum Made {
    /// By a scheme.
    Scheme {
        /// The scheme.
        scheme: Scheme,
        /// The whole tensor's shape (a shard's file holds part of it).
        full_shape: Vec<usize>,
        /// The block of the whole tensor the file holds, for a shard.
        #[serde(serialize_with = "shard_json")]
        shard: Option<Shard>,
        /// The stream it was drawn from, where the file says (orthogonal and sparse shards are
        /// checked against it, value by value).
        #[serde(serialize_with = "stream_json")]
        stream: Option<Stream>,
        /// The row written as zeros after the scheme (`padding_idx`), if any, in the file's
        /// tensor: for a shard, counted from the shard's first row (and absent when the shard
        /// does not hold it).
        zero_row: Option<u64>,
    },
    /// Copied from a pretrained file.
    Pretrained {
        /// That file.
        file: String,
        /// The key in it.
        key: String,
    },
}

/// Reads how tensor `name` (of `shape`) was made from `metadata`: `nninit.tensor.NAME` (from
/// `nninit init`), or `nninit.scheme` with `nninit.shape` (from `nninit fill`, one tensor a file).
pub fn how_made(metadata: &HashMap<String, String>, name: &str, shape: &[usize], tensors: usize) -> Option<Made> {
    if let Some(text) = metadata.get(&format!("{}{name}", crate::io::TENSOR_METADATA_PREFIX)) {
        let mut json: serde_json::Value = serde_json::from_str(text).ok()?;
        if let (Some(file), Some(key)) = (json.get("pretrained"), json.get("key")) {
            return Some(Made::Pretrained {
                file: file.as_str().unwrap_or_default().to_string(),
                key: key.as_str().unwrap_or_default().to_string(),
            });
        }
        // The scheme, beside the stream it was drawn from and its zero row.
        let fields = json.as_object_mut()?;
        let stream = fields.remove("stream").and_then(|s| s.as_u64());
        let zero_row = fields.remove("zero_row").and_then(|row| row.as_u64());
        let scheme: Scheme = serde_json::from_value(json).ok()?;
        let stream = seed(metadata).zip(stream).map(|(seed, stream)| Stream::new(seed, stream));
        return Some(Made::Scheme { scheme, full_shape: shape.to_vec(), shard: None, stream, zero_row });
    }
    if tensors != 1 {
        return None;
    }
    let scheme: Scheme = serde_json::from_str(metadata.get("nninit.scheme")?).ok()?;
    let full_shape = match metadata.get("nninit.shape") {
        Some(text) => serde_json::from_str(text).ok()?,
        None => shape.to_vec(),
    };
    let shard = match metadata.get("nninit.shard") {
        Some(text) => Some(Shard::from_json(&serde_json::from_str(text).ok()?)?),
        None => None,
    };
    let mut zero_row = metadata.get("nninit.zero_row").and_then(|row| row.parse::<u64>().ok());
    if let (Some(row), Some(shard)) = (zero_row, &shard) {
        let rows = shard.rows.clone().unwrap_or(0..u64::MAX);
        zero_row = rows.contains(&row).then(|| row - rows.start);
    }
    let stream = metadata.get("nninit.stream").and_then(|s| s.parse::<u64>().ok());
    let stream = seed(metadata).zip(stream).map(|(seed, stream)| Stream::new(seed, stream));
    Some(Made::Scheme { scheme, full_shape, shard, stream, zero_row })
}

/// The file's `nninit.seed`.
fn seed(metadata: &HashMap<String, String>) -> Option<u64> {
    metadata.get("nninit.seed")?.parse().ok()
}

fn shard_json<S: serde::Serializer>(shard: &Option<Shard>, serializer: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&shard.as_ref().map(Shard::to_json), serializer)
}

fn stream_json<S: serde::Serializer>(stream: &Option<Stream>, serializer: S) -> Result<S::Ok, S::Error> {
    let json = stream.map(|s| serde_json::json!({"seed": s.seed, "stream": s.stream}));
    serde::Serialize::serialize(&json, serializer)
}
