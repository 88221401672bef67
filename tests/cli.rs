//! The `nninit` binary as a user runs it: files, identical results across devices, and errors
//! that are one line, a non-zero exit, and no file left behind or overwritten.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nninit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nninit")).args(args).output().expect("run nninit")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nninit-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tensor(path: &Path, name: &str) -> (Vec<usize>, Vec<f32>, std::collections::HashMap<String, String>) {
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = file.tensor(name).unwrap();
    assert_eq!(view.dtype(), safetensors::Dtype::F32);
    let data = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (view.shape().to_vec(), data, meta.metadata().clone().unwrap_or_default())
}

#[test]
fn fill_is_the_same_on_the_cpu_and_on_every_adapter() {
    let dir = temp_dir("same");
    let cpu = dir.join("cpu.safetensors");
    let out = nninit(&[
        "fill",
        "uniform",
        "--shape",
        "33,17,3",
        "--seed",
        "5",
        "--a",
        "-0.5",
        "--b",
        "2",
        "--device",
        "cpu",
        "--out",
        cpu.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (shape, expected, meta) = tensor(&cpu, "weight");
    assert_eq!(shape, [33, 17, 3]);
    assert_eq!(meta["nninit.seed"], "5");
    assert_eq!(meta["nninit.scheme"], r#"{"scheme":"uniform","a":-0.5,"b":2.0}"#);
    for ctx in common::contexts() {
        let backend = format!("{:?}", ctx.info.backend).to_lowercase();
        let gpu = dir.join(format!("{backend}.safetensors"));
        let out = nninit(&[
            "fill",
            "uniform",
            "--shape",
            "33,17,3",
            "--seed",
            "5",
            "--a",
            "-0.5",
            "--b",
            "2",
            "--device",
            "gpu",
            "--adapter",
            &backend,
            "--out",
            gpu.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&ctx.info.name));
        let (_, got, _) = tensor(&gpu, "weight");
        assert!(got == expected, "{backend} differs from the CPU");
    }
}

#[test]
fn fill_without_seed_prints_one_that_repeats_the_run() {
    let dir = temp_dir("seed");
    let first = dir.join("a.safetensors");
    let out = nninit(&[
        "fill",
        "normal",
        "--shape",
        "100",
        "--std",
        "0.02",
        "--device",
        "cpu",
        "--name",
        "w",
        "--out",
        first.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seed = stdout.split("--seed ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let second = dir.join("b.safetensors");
    let out = nninit(&[
        "fill",
        "normal",
        "--shape",
        "100",
        "--std",
        "0.02",
        "--device",
        "cpu",
        "--name",
        "w",
        "--seed",
        &seed,
        "--out",
        second.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(tensor(&first, "w").1, tensor(&second, "w").1);
}

#[test]
fn errors_are_one_line_with_no_file_written_or_overwritten() {
    let dir = temp_dir("errors");
    let existing = dir.join("existing.safetensors");
    std::fs::write(&existing, b"keep me").unwrap();
    let path = existing.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["fill", "uniform", "--shape", "4", "--a", "1", "--b", "0", "--out", path],
        &["fill", "normal", "--shape", "4", "--std", "-1", "--out", path],
        &["fill", "normal", "--shape", "4", "--val", "3", "--out", path],
        &["fill", "constant", "--shape", "4", "--out", path],
        &["fill", "bogus", "--shape", "4", "--out", path],
        &["fill", "ones", "--shape", "4,x", "--out", path],
        &["fill", "ones", "--shape", "4294967296,4294967296", "--out", path],
        &["fill", "ones", "--shape", "4", "--device", "gpu", "--adapter", "no-such-adapter", "--out", path],
    ];
    for args in cases {
        let out = nninit(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert_eq!(std::fs::read(&existing).unwrap(), b"keep me", "{args:?} touched the file");
    }
    let out = nninit(&["fill", "uniform", "--shape", "4", "--a", "1", "--b", "0", "--out", path]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: uniform_ expects to return a [from, to) range, but found from=1 > to=0"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn stream_writes_raw_little_endian_words() {
    let out = nninit(&["stream", "--seed", "0", "--count", "4"]);
    assert!(out.status.success());
    let words: Vec<u32> = out.stdout.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(words, [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    let out = nninit(&["stream", "--seed", "12", "--stream", "3", "--offset", "1001", "--count", "5000"]);
    let stream = nninit::Stream::new(12, 3);
    let words: Vec<u32> = out.stdout.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(words, (1001..6001).map(|i| stream.word(i)).collect::<Vec<_>>());
}
