//! Checkpoint directories and their index: any bytes as an index and two shards, opened as a
//! directory and as an index (inspect's and --like's reader, with its checks of the index against
//! the shards), and shaped into a spec. Each may fail with an error; nothing may panic, hang or
//! abort.
//!
//! An input is `[u32 LE n][n bytes: model.safetensors.index.json][u32 LE m][m bytes: shard 1]
//! [the rest: shard 2]`; missing parts are empty files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nninit::io::Checkpoint;

/// The next length-prefixed part of `data`.
fn part<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        let all = *data;
        *data = &[];
        return all;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (taken, rest) = rest.split_at(len);
    *data = rest;
    taken
}

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("nninit-fuzz-checkpoint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir(&dir).is_err() {
        return;
    }
    let mut rest = data;
    let index = part(&mut rest);
    let first = part(&mut rest);
    let files = [
        ("model.safetensors.index.json", index),
        ("model-00001-of-00002.safetensors", first),
        ("model-00002-of-00002.safetensors", rest),
    ];
    for (name, bytes) in files {
        if std::fs::write(dir.join(name), bytes).is_err() {
            return;
        }
    }
    for path in [dir.clone(), dir.join("model.safetensors.index.json")] {
        if let Ok(checkpoint) = Checkpoint::open(&path) {
            for file in checkpoint.files() {
                for entry in file.entries() {
                    let end = entry.bytes.start.saturating_add(4096).min(entry.bytes.end);
                    let _ = file.read(entry, 0..end - entry.bytes.start);
                }
            }
        }
    }
    let _ = nninit::model::spec_like(&dir);
    let _ = std::fs::remove_dir_all(&dir);
});
