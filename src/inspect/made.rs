//! How a tensor was made, read from an nninit file's metadata.

use std::collections::HashMap;

use crate::scheme::Scheme;

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
        /// Whether the file holds a shard of the tensor.
        shard: bool,
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
    if let Some(text) = metadata.get(&format!("nninit.tensor.{name}")) {
        let mut json: serde_json::Value = serde_json::from_str(text).ok()?;
        if let (Some(file), Some(key)) = (json.get("pretrained"), json.get("key")) {
            return Some(Made::Pretrained {
                file: file.as_str().unwrap_or_default().to_string(),
                key: key.as_str().unwrap_or_default().to_string(),
            });
        }
        // The scheme, beside the stream it was drawn from and its zero row.
        let fields = json.as_object_mut()?;
        fields.remove("stream");
        let zero_row = fields.remove("zero_row").and_then(|row| row.as_u64());
        let scheme: Scheme = serde_json::from_value(json).ok()?;
        return Some(Made::Scheme { scheme, full_shape: shape.to_vec(), shard: false, zero_row });
    }
    if tensors != 1 {
        return None;
    }
    let scheme: Scheme = serde_json::from_str(metadata.get("nninit.scheme")?).ok()?;
    let full_shape = match metadata.get("nninit.shape") {
        Some(text) => serde_json::from_str(text).ok()?,
        None => shape.to_vec(),
    };
    let shard = metadata.get("nninit.shard");
    let mut zero_row = metadata.get("nninit.zero_row").and_then(|row| row.parse::<u64>().ok());
    if let (Some(row), Some(text)) = (zero_row, shard) {
        // {"rows": [start, end] or null, "cols": ...}, as `nninit fill` records a shard.
        let rows: serde_json::Value = serde_json::from_str::<serde_json::Value>(text).ok()?["rows"].clone();
        let (start, end) = match rows.as_array().map(|r| (r[0].as_u64(), r[1].as_u64())) {
            Some((Some(start), Some(end))) => (start, end),
            _ => (0, u64::MAX),
        };
        zero_row = (start..end).contains(&row).then(|| row - start);
    }
    Some(Made::Scheme { scheme, full_shape, shard: shard.is_some(), zero_row })
}
