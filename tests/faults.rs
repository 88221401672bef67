//! Faults found by trying nninit as a hostile user would, each with the guarantee it breaks:
//! output appears whole or not at all, whatever fails (a write half-way, a signal, a racing
//! writer); `--out` is written through links and never replaces what is not a regular file; bad
//! input is a one-line error, never an abort or a hang.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nninit::io::{write_atomic, TensorData, TensorFile};
use nninit::model::{LayerKind, Model, ModelSpec, TensorSpec};
use nninit::{Dtype, Error};

fn nninit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nninit")).args(args).output().expect("run nninit")
}

/// Names in `dir` other than `keep`: what a run left beside its target.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| !keep.contains(&n.as_str())).collect()
}

/// `nninit fill ones` of three elements into `out`.
fn fill_ones(out: &Path) -> Output {
    nninit(&["fill", "ones", "--shape", "3", "--seed", "1", "--device", "cpu", "--out", out.to_str().unwrap()])
}

/// A one-line error on stderr and a failing exit status.
fn assert_one_line_error(out: &Output, contains: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains("XDG_RUNTIME_DIR")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(contains), "{stderr}");
}

#[test]
fn a_tensor_named_like_the_metadata_is_refused() {
    let scratch = common::scratch("faults-metadata");
    let dir = scratch.path();
    let out = dir.join("w.safetensors");
    let run = nninit(&["fill", "normal", "--shape", "4", "--name", "__metadata__", "--out", out.to_str().unwrap()]);
    assert_one_line_error(&run, "__metadata__ is reserved");
    assert!(leftovers(dir, &[]).is_empty());
    let spec = ModelSpec {
        name: "m".into(),
        tensors: vec![TensorSpec::new("__metadata__", &[4], LayerKind::Other)],
        rules: vec![nninit::model::Rule::for_name("*", nninit::Scheme::zeros())],
    };
    assert!(matches!(Model::new(&spec, 0, Dtype::F32), Err(Error::InvalidParameter(_))));
}

#[test]
fn a_spec_without_tensors_is_refused() {
    let scratch = common::scratch("faults-empty");
    let dir = scratch.path();
    let spec = dir.join("empty.json");
    std::fs::write(&spec, r#"{"name": "nothing", "tensors": []}"#).unwrap();
    let out = dir.join("m.safetensors");
    let run = nninit(&["init", "--model", spec.to_str().unwrap(), "--seed", "1", "--out", out.to_str().unwrap()]);
    assert_one_line_error(&run, "no tensors");
    assert!(!out.exists());
}

#[test]
fn counts_that_overflow_are_errors_not_wraps() {
    let rules = vec![nninit::model::Rule::for_name("*", nninit::Scheme::zeros())];
    let tensors = |n: usize| (0..n).map(|i| TensorSpec::new(format!("t{i}"), &[1 << 62], LayerKind::Other)).collect();
    let two = ModelSpec { name: "two".into(), tensors: tensors(2), rules: rules.clone() };
    assert_eq!(two.elements(), Some(1 << 63));
    let four = ModelSpec { name: "four".into(), tensors: tensors(4), rules };
    assert_eq!(four.elements(), None);
    assert_eq!(four.parameters(), None);
    // 2^62 f32 elements are 2^64 bytes: refused when the model is resolved.
    assert!(matches!(Model::new(&four, 0, Dtype::F32), Err(Error::InvalidShape(_))));
}

#[test]
fn pretrained_f64_values_beyond_f32_are_refused_with_the_tensor_name() {
    let scratch = common::scratch("faults-f64");
    let dir = scratch.path();
    let pretrained = dir.join("big.safetensors");
    let data: Vec<u8> = [1.0f64, 1e300].iter().flat_map(|x| x.to_le_bytes()).collect();
    let header = nninit::io::TensorHeader { name: "w".into(), dtype: safetensors::Dtype::F64, shape: vec![2] };
    let mut writer = nninit::io::TensorWriter::create(&pretrained, &[header], &HashMap::new()).unwrap();
    writer.write(&data).unwrap();
    writer.finish().unwrap();
    let spec = dir.join("spec.json");
    std::fs::write(
        &spec,
        r#"{"name": "m", "tensors": [{"name": "w", "shape": [2], "kind": "other", "init": {"scheme": "zeros"}}]}"#,
    )
    .unwrap();
    let out = dir.join("m.safetensors");
    let run = nninit(&[
        "init",
        "--model",
        spec.to_str().unwrap(),
        "--pretrained",
        pretrained.to_str().unwrap(),
        "--seed",
        "1",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&run, "w: the f64 value 1e300 is beyond f32's range");
    assert!(!out.exists());
    assert_eq!(leftovers(dir, &["big.safetensors", "spec.json"]), Vec::<String>::new());
}

#[test]
fn out_through_a_symlink_writes_the_target_and_keeps_the_link() {
    let scratch = common::scratch("faults-symlink");
    let dir = scratch.path();
    let target = dir.join("real.safetensors");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.join("link.safetensors");
    std::os::unix::fs::symlink("real.safetensors", &link).unwrap();
    let run = fill_ones(&link);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
    let file = TensorFile::open(&target).unwrap();
    assert_eq!(file.read_all(file.entry("weight").unwrap()).unwrap(), [1f32; 3].map(f32::to_le_bytes).concat());
    // A dangling link: the file it names is created.
    let dangling = dir.join("dangling.safetensors");
    std::os::unix::fs::symlink("new.safetensors", &dangling).unwrap();
    let run = fill_ones(&dangling);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(dir.join("new.safetensors").is_file());
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
    let mut names = leftovers(dir, &[]);
    names.sort();
    assert_eq!(names, ["dangling.safetensors", "link.safetensors", "new.safetensors", "real.safetensors"]);
}

#[test]
fn out_that_is_not_a_regular_file_is_refused_and_left_alone() {
    let scratch = common::scratch("faults-special");
    let dir = scratch.path();
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let folder = dir.join("folder");
    std::fs::create_dir(&folder).unwrap();
    let mut targets = vec![(fifo.clone(), "is a pipe (FIFO)"), (folder.clone(), "a directory")];
    // A device node of our own (the null device), where this user may make one (root may).
    let device = dir.join("device");
    let made = Command::new("mknod").arg(&device).args(["c", "1", "3"]).stderr(Stdio::null()).status();
    if made.is_ok_and(|s| s.success()) {
        targets.push((device.clone(), "is a device"));
    } else {
        eprintln!("mknod is not permitted here: the device case is covered by the FIFO's branch");
    }
    for (target, why) in &targets {
        let run = fill_ones(target);
        assert_one_line_error(&run, why);
        let kind = std::fs::symlink_metadata(target).unwrap().file_type();
        assert!(!kind.is_file(), "{} was replaced by a file", target.display());
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(folder.is_dir());
    let mut names = leftovers(dir, &[]);
    names.sort();
    let expected: Vec<&str> = ["device", "fifo", "folder"].into_iter().filter(|n| dir.join(n).exists()).collect();
    assert_eq!(names, expected);
}

#[test]
fn racing_writers_leave_one_whole_file() {
    let scratch = common::scratch("faults-race");
    let dir = scratch.path();
    let target = dir.join("w.safetensors");
    // Two writers with different data, started together, many times: the file is always one
    // writer's complete output, never a mix, and nothing is left beside it.
    let payloads: Vec<Vec<u8>> = (0..2u8).map(|k| vec![k + 1; 4 << 20]).collect();
    for round in 0..20 {
        std::thread::scope(|scope| {
            for payload in &payloads {
                let target = &target;
                scope.spawn(move || {
                    let tensor = TensorData { name: "w", dtype: Dtype::F32, shape: &[1 << 20], data: payload };
                    write_atomic(target, &[tensor], &HashMap::new()).unwrap();
                });
            }
        });
        let file = TensorFile::open(&target).unwrap();
        let data = file.read_all(file.entry("w").unwrap()).unwrap();
        assert!(payloads.contains(&data), "round {round}: a mixed file");
        assert_eq!(leftovers(dir, &["w.safetensors"]), Vec::<String>::new(), "round {round}");
    }
    // Two processes writing whole models with different seeds into the same place.
    let mut references = Vec::new();
    for seed in ["1", "2"] {
        let reference = dir.join(format!("seed{seed}.safetensors"));
        let run = nninit(&[
            "init",
            "--model",
            "resnet50",
            "--seed",
            seed,
            "--device",
            "cpu",
            "--quiet",
            "--out",
            reference.to_str().unwrap(),
        ]);
        assert!(run.status.success());
        references.push(std::fs::read(&reference).unwrap());
    }
    for round in 0..3 {
        let children: Vec<_> = ["1", "2"]
            .iter()
            .map(|seed| {
                Command::new(env!("CARGO_BIN_EXE_nninit"))
                    .args(["init", "--model", "resnet50", "--seed", seed, "--device", "cpu", "--quiet", "--out"])
                    .arg(&target)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(references.contains(&std::fs::read(&target).unwrap()), "round {round}: a mixed file");
        let left = leftovers(dir, &["w.safetensors", "seed1.safetensors", "seed2.safetensors"]);
        assert_eq!(left, Vec::<String>::new(), "round {round}");
    }
}

/// Starts `nninit init` of the 1B transformer in bf16 (2.5 GB, several seconds) into `out`.
fn long_init(out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_nninit"))
        .args(["init", "--model", "transformer-1b", "--dtype", "bf16", "--seed", "3", "--device", "cpu", "--quiet"])
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a temporary file of the run appears beside `out` (the write has begun).
fn wait_for_temp(dir: &Path, keep: &[&str]) {
    let started = Instant::now();
    while leftovers(dir, keep).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn signals_mid_write_leave_the_old_file_and_nothing_beside_it() {
    let scratch = common::scratch("faults-signals");
    let dir = scratch.path();
    let out = dir.join("model.safetensors");
    std::fs::write(&out, b"the old file").unwrap();
    for signal in ["INT", "TERM"] {
        let child = long_init(&out);
        wait_for_temp(dir, &["model.safetensors"]);
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let result = child.wait_with_output().unwrap();
        assert_eq!(result.status.code(), Some(130), "SIG{signal}: {}", String::from_utf8_lossy(&result.stderr));
        assert_eq!(std::fs::read(&out).unwrap(), b"the old file", "SIG{signal}");
        assert_eq!(leftovers(dir, &["model.safetensors"]), Vec::<String>::new(), "SIG{signal}");
    }
    // SIGKILL cannot be handled: the temporary file stays, and the next run into the same place
    // removes it (its writer no longer holds its lock).
    let mut child = long_init(&out);
    wait_for_temp(dir, &["model.safetensors"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"the old file");
    assert_eq!(leftovers(dir, &["model.safetensors"]).len(), 1, "the killed run's temporary file");
    std::thread::sleep(Duration::from_millis(2100));
    let run = fill_ones(&out);
    assert!(run.status.success());
    assert_eq!(leftovers(dir, &["model.safetensors"]), Vec::<String>::new());
}

#[test]
fn a_write_that_fails_half_way_leaves_the_old_file_and_nothing_beside_it() {
    let scratch = common::scratch("faults-half");
    let dir = scratch.path();
    let out = dir.join("model.safetensors");
    std::fs::write(&out, b"the old file").unwrap();
    // A file size limit of 1 MiB (2048 blocks of 512 bytes in sh's `ulimit -f`, or more if the
    // shell counts in KiB) fails the 100 MB ResNet-50 write half-way with EFBIG; SIGXFSZ ignored.
    let script = format!(
        "ulimit -f 2048 && trap '' XFSZ && exec '{}' init --model resnet50 --seed 1 --device cpu --quiet --out '{}'",
        env!("CARGO_BIN_EXE_nninit"),
        out.display()
    );
    let run = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_one_line_error(&run, "");
    assert!(
        String::from_utf8_lossy(&run.stderr).to_lowercase().contains("file too large"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"the old file");
    assert_eq!(leftovers(dir, &["model.safetensors"]), Vec::<String>::new());
}

#[test]
fn running_out_of_memory_is_an_error_not_an_abort() {
    let scratch = common::scratch("faults-memory");
    let dir = scratch.path();
    let out = dir.join("w.safetensors");
    // A 4 GB address space: a 30000 x 30000 orthogonal matrix (3.6 GB, and as much again for its
    // QR) cannot be had.
    let limited = |limit_kib: u64, args: &str| {
        let script = format!("ulimit -v {limit_kib} && exec '{}' {args}", env!("CARGO_BIN_EXE_nninit"));
        Command::new("sh").args(["-c", &script]).output().unwrap()
    };
    let run = limited(
        4_000_000,
        &format!("fill orthogonal --shape 30000,30000 --seed 1 --device cpu --out '{}'", out.display()),
    );
    assert_one_line_error(&run, "out of memory");
    assert!(!String::from_utf8_lossy(&run.stderr).contains("adapter"), "{}", String::from_utf8_lossy(&run.stderr));
    // An 8 GB address space: a transformer of 10^8 layers cannot even be described.
    let run = limited(
        8_000_000,
        &format!("init --model transformer-tiny --layers 100000000 --seed 1 --device cpu --out '{}'", out.display()),
    );
    assert_one_line_error(&run, "out of memory");
    assert!(!out.exists());
    assert_eq!(leftovers(dir, &[]), Vec::<String>::new());
}
