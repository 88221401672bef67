//! The safetensors reader and decoders, through `inspect`: any bytes as a file. Opening may fail
//! with an error; nothing may panic, hang or abort.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("nninit-fuzz-reader-{}.safetensors", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    check(&path);
    let _ = std::fs::remove_file(&path);
});

fn check(path: &std::path::Path) {
    if let Ok(file) = nninit::io::TensorFile::open(path) {
        for entry in file.entries() {
            // Bounded work per input: the statistics of small tensors, the bytes of any.
            if entry.elements() <= 1 << 16 {
                let _ = nninit::inspect::inspect(&file, entry);
            } else {
                let end = entry.bytes.start.saturating_add(4096).min(entry.bytes.end);
                let _ = file.read(entry, 0..end - entry.bytes.start);
            }
        }
    }
}
