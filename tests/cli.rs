//! The `nninit` binary as a user runs it: files, identical results across devices, and errors
//! that are one line, a non-zero exit, and no file left behind or overwritten.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn nninit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nninit")).args(args).output().expect("run nninit")
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
    let scratch = common::scratch("cli-same");
    let dir = scratch.path();
    let cpu = dir.join("cpu.safetensors");
    let fill = ["fill", "uniform", "--shape", "33,17,3", "--seed", "5", "--a", "-0.5", "--b", "2"];
    let out = nninit(&[&fill[..], &["--device", "cpu", "--out", cpu.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (shape, expected, meta) = tensor(&cpu, "weight");
    assert_eq!(shape, [33, 17, 3]);
    assert_eq!(meta["nninit.seed"], "5");
    assert_eq!(meta["nninit.scheme"], r#"{"scheme":"uniform","a":-0.5,"b":2.0}"#);
    for ctx in common::contexts() {
        let backend = format!("{:?}", ctx.info.backend).to_lowercase();
        let gpu = dir.join(format!("{backend}.safetensors"));
        let on_gpu = ["--device", "gpu", "--adapter", &backend, "--out", gpu.to_str().unwrap()];
        let out = nninit(&[&fill[..], &on_gpu].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&ctx.info.name));
        let (_, got, _) = tensor(&gpu, "weight");
        assert!(got == expected, "{backend} differs from the CPU");
    }
}

/// `--padding-idx`: that row zeros, every other value the fill's own, on the CPU and every
/// adapter; a negative index counts from the end; a shard holding the row has it zeroed in its
/// own rows; `inspect --check` knows the row; PyTorch's message for a row that does not exist.
#[test]
fn fill_zeroes_a_padding_row_anywhere() {
    let scratch = common::scratch("cli-padding");
    let dir = scratch.path();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let fill = ["fill", "normal", "--std", "0.5", "--shape", "300,40", "--seed", "2"];
    let run = |extra: &[&str]| {
        let out = nninit(&[&fill[..], extra].concat());
        assert!(out.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["--device", "cpu", "--out", &path("plain.safetensors")]);
    run(&["--device", "cpu", "--padding-idx", "-3", "--out", &path("cpu.safetensors")]);
    let (_, plain, _) = tensor(&dir.join("plain.safetensors"), "weight");
    let (_, padded, meta) = tensor(&dir.join("cpu.safetensors"), "weight");
    assert_eq!(meta["nninit.zero_row"], "297");
    for (i, (&p, &q)) in plain.iter().zip(&padded).enumerate() {
        let expected = if i / 40 == 297 { 0.0 } else { p };
        assert_eq!(q.to_bits(), expected.to_bits(), "element {i}");
    }
    for ctx in common::contexts() {
        let backend = format!("{:?}", ctx.info.backend).to_lowercase();
        let out = path(&format!("{backend}.safetensors"));
        run(&["--device", "gpu", "--adapter", &backend, "--padding-idx", "297", "--out", &out]);
        assert!(tensor(Path::new(&out), "weight").1 == padded, "{backend} differs from the CPU");
    }
    // A shard of rows 290..300 and columns 8..24: local row 7 is the zero row.
    run(&[
        "--device",
        "cpu",
        "--padding-idx",
        "297",
        "--rows",
        "290:300",
        "--cols",
        "8:24",
        "--out",
        &path("shard.safetensors"),
    ]);
    let (shape, shard, _) = tensor(&dir.join("shard.safetensors"), "weight");
    assert_eq!(shape, [10, 16]);
    for (k, &v) in shard.iter().enumerate() {
        let (r, c) = (290 + k / 16, 8 + k % 16);
        assert_eq!(v.to_bits(), padded[r * 40 + c].to_bits(), "shard element {k}");
    }
    for file in ["cpu.safetensors", "shard.safetensors"] {
        let out = nninit(&["inspect", &path(file), "--check"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{file}: {stdout}");
        assert!(stdout.contains("(padding_idx): 0 of") && stdout.contains("0 failed"), "{file}: {stdout}");
        let row = if file == "cpu.safetensors" { "row 297 zeros" } else { "the shard's row 7 zeros" };
        assert!(stdout.contains(row), "{file}: {stdout}");
    }
    for bad in ["300", "-301"] {
        let out = nninit(&[&fill[..], &["--padding-idx", bad, "--out", &path("bad.safetensors")]].concat());
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim(),
            format!("error: Padding_idx must be within num_embeddings: --padding-idx {bad} of a tensor with 300 rows")
        );
    }
    assert!(!dir.join("bad.safetensors").exists());
}

#[test]
fn fill_without_seed_prints_one_that_repeats_the_run() {
    let scratch = common::scratch("cli-seed");
    let dir = scratch.path();
    let first = dir.join("a.safetensors");
    let fill = ["fill", "normal", "--shape", "100", "--std", "0.02", "--device", "cpu", "--name", "w"];
    let out = nninit(&[&fill[..], &["--out", first.to_str().unwrap()]].concat());
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seed = stdout.split("--seed ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let second = dir.join("b.safetensors");
    let out = nninit(&[&fill[..], &["--seed", &seed, "--out", second.to_str().unwrap()]].concat());
    assert!(out.status.success());
    assert_eq!(tensor(&first, "w").1, tensor(&second, "w").1);
}

#[test]
fn errors_are_one_line_with_no_file_written_or_overwritten() {
    let scratch = common::scratch("cli-errors");
    let dir = scratch.path();
    let existing = dir.join("existing.safetensors");
    std::fs::write(&existing, b"keep me").unwrap();
    let path = existing.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["fill", "uniform", "--shape", "4", "--a", "1", "--b", "0", "--out", path],
        &["fill", "normal", "--shape", "4", "--std", "-1", "--out", path],
        &["fill", "normal", "--shape", "4", "--val", "3", "--out", path],
        &["fill", "constant", "--shape", "4", "--out", path],
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
    assert_eq!(out.status.code(), Some(1));
    // Bad usage: clap's whole message (what is wrong, the usage, a suggestion) and status 2.
    let usage: &[(&[&str], &str)] = &[
        (&["fill", "bogus", "--shape", "4", "--out", path], "invalid value 'bogus'"),
        (&["fill", "kaiming_nromal", "--shape", "4", "--out", path], "kaiming_normal"),
        (&["fill", "ones", "--shape", "4,x", "--out", path], "invalid value 'x'"),
        (&["fill", "normal", "--out", path], "--shape"),
        (&["fil"], "fill"),
    ];
    for (args, mentions) in usage {
        let out = nninit(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(mentions), "{args:?}: {stderr}");
        assert!(stderr.contains("For more information, try '--help'."), "{args:?}: {stderr}");
        assert_eq!(std::fs::read(&existing).unwrap(), b"keep me", "{args:?} touched the file");
    }
    // A bare `nninit` shows the commands, and the exit statuses are documented in --help.
    let bare = nninit(&[]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("Commands:"));
    let help = String::from_utf8_lossy(&nninit(&["--help"]).stdout).to_string();
    assert!(help.contains("3 `inspect --check` found a failing check"), "{help}");
    // PyTorch's spellings of schemes and dtypes.
    for (scheme, dtype) in [("kaiming_normal_", "bfloat16"), ("kaiming-normal", "half"), ("kaiming_normal", "float32")]
    {
        let args =
            ["fill", scheme, "--shape", "8,4", "--seed", "1", "--device", "cpu", "--dtype", dtype, "--out", path];
        let out = nninit(&args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    std::fs::write(&existing, b"keep me").unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
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

/// The raw bytes, dtype and shape of a tensor in a file.
fn raw_tensor(path: &Path, name: &str) -> (safetensors::Dtype, Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = file.tensor(name).unwrap();
    (view.dtype(), view.shape().to_vec(), view.data().to_vec())
}

#[test]
fn half_precision_files_and_shards_are_slices_of_the_full_tensor() {
    let scratch = common::scratch("cli-shards");
    let dir = scratch.path();
    let path = |n: &str| dir.join(n).to_str().unwrap().to_string();
    for (dtype, st, size) in [
        ("bf16", safetensors::Dtype::BF16, 2usize),
        ("f16", safetensors::Dtype::F16, 2),
        ("f32", safetensors::Dtype::F32, 4),
    ] {
        let full = path(&format!("full-{dtype}.safetensors"));
        let base = ["fill", "kaiming_normal", "--shape", "24,10", "--seed", "9", "--device", "cpu", "--dtype", dtype];
        let out = nninit(&[&base[..], &["--out", &full]].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (got_dtype, shape, full_data) = raw_tensor(Path::new(&full), "weight");
        assert_eq!((got_dtype, shape), (st, vec![24, 10]));
        let rows = path(&format!("rows-{dtype}.safetensors"));
        assert!(nninit(&[&base[..], &["--rows", "5:9", "--out", &rows]].concat()).status.success());
        let (_, shape, data) = raw_tensor(Path::new(&rows), "weight");
        assert_eq!(shape, [4, 10]);
        assert_eq!(data, full_data[5 * 10 * size..9 * 10 * size]);
        let cols = path(&format!("cols-{dtype}.safetensors"));
        assert!(nninit(&[&base[..], &["--cols", "3:7", "--rows", "1:24", "--out", &cols]].concat()).status.success());
        let (_, shape, data) = raw_tensor(Path::new(&cols), "weight");
        assert_eq!(shape, [23, 4]);
        let expected: Vec<u8> =
            (1..24).flat_map(|r| full_data[(r * 10 + 3) * size..(r * 10 + 7) * size].to_vec()).collect();
        assert_eq!(data, expected);
        // The same shard from each adapter: bit-identical for uniform-derived schemes.
        for ctx in common::contexts() {
            let backend = format!("{:?}", ctx.info.backend).to_lowercase();
            let gpu = path(&format!("gpu-{backend}-{dtype}.safetensors"));
            let cpu = path(&format!("cpu-{dtype}.safetensors"));
            let shard =
                ["fill", "kaiming_uniform", "--shape", "24,10", "--seed", "9", "--dtype", dtype, "--cols", "3:7"];
            let on_gpu = ["--device", "gpu", "--adapter", &backend, "--out", &gpu];
            assert!(nninit(&[&shard[..], &on_gpu].concat()).status.success());
            assert!(nninit(&[&shard[..], &["--device", "cpu", "--out", &cpu]].concat()).status.success());
            assert_eq!(
                raw_tensor(Path::new(&gpu), "weight"),
                raw_tensor(Path::new(&cpu), "weight"),
                "{backend} {dtype}"
            );
        }
    }
    for bad in [&["--rows", "5:99"][..], &["--cols", "0:3", "--shape", "2,3,4"], &["--rows", "x"], &["--dtype", "f64"]]
    {
        let target = path("bad.safetensors");
        let args = [&["fill", "ones", "--shape", "24,10", "--device", "cpu", "--out", &target][..], bad].concat();
        let out = nninit(&args);
        assert!(!out.status.success() && !Path::new(&target).exists(), "{bad:?}");
        // A value clap refuses is bad usage (its whole message, status 2); the rest is one line.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(2) {
            assert!(stderr.contains("f64") && stderr.contains("possible values"), "{bad:?}: {stderr}");
        } else {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{bad:?}: {stderr}");
        }
    }
}

#[test]
fn init_writes_a_model_that_a_printed_spec_reproduces() {
    let scratch = common::scratch("cli-init");
    let dir = scratch.path();
    let preset = dir.join("preset.safetensors");
    let run = |model: &str, out: &Path, extra: &[&str]| {
        let args = ["init", "--model", model, "--seed", "3", "--device", "cpu", "--out", out.to_str().unwrap()];
        nninit(&[&args[..], extra].concat())
    };
    let out = run("transformer-tiny", &preset, &["--dtype", "bf16"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("transformer-tiny: 21 tensors"), "{stdout}");

    // --print-spec gives a spec file that makes the same file, byte for byte.
    let printed = nninit(&["init", "--model", "transformer-tiny", "--print-spec"]);
    assert!(printed.status.success());
    let spec: nninit::model::ModelSpec = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(spec.tensors.len(), 21);
    let spec_path = dir.join("tiny.json");
    std::fs::write(&spec_path, &printed.stdout).unwrap();
    let from_spec = dir.join("spec.safetensors");
    let out = run(spec_path.to_str().unwrap(), &from_spec, &["--dtype", "bf16"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&preset).unwrap(), std::fs::read(&from_spec).unwrap());

    // A rules file that leaves the norms uncovered: one line naming the tensor, no file.
    let rules = dir.join("rules.json");
    std::fs::write(&rules, r#"{"rules": [{"kind": "linear", "init": {"scheme": "zeros"}}, {"kind": "embedding", "init": {"scheme": "zeros"}}]}"#).unwrap();
    let failed = dir.join("failed.safetensors");
    let out = run("transformer-tiny", &failed, &["--rules", rules.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no rule covers tensor model.layers.0.input_layernorm.weight"), "{stderr}");
    assert!(!failed.exists());
    let leftovers =
        std::fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp"));
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn init_merges_pretrained_files_with_a_prefix_and_honest_counts() {
    let scratch = common::scratch("cli-pretrained");
    let dir = scratch.path();
    let resnet = dir.join("resnet50.safetensors");
    let args = ["init", "--model", "resnet50", "--seed", "1", "--device", "cpu", "--out", resnet.to_str().unwrap()];
    assert!(nninit(&args).status.success());
    let cpn = dir.join("cpn.safetensors");
    let pretrained = format!("resnet.={}", resnet.display());
    let args = [
        "init",
        "--model",
        "cpn50",
        "--num-class",
        "14",
        "--seed",
        "2",
        "--device",
        "cpu",
        "--pretrained",
        &pretrained,
    ];
    let out = nninit(&[&args[..], &["--out", cpn.to_str().unwrap()]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("320 keys, 318 loaded, 2 ignored: fc.weight, fc.bias"), "{stdout}");
    assert!(stdout.contains("model tensors: 585: 318 loaded from pretrained files, 267 initialized"), "{stdout}");
    let (_, trunk, meta) = tensor(&cpn, "resnet.layer4.2.conv3.weight");
    assert_eq!(trunk, tensor(&resnet, "layer4.2.conv3.weight").1);
    assert!(meta["nninit.tensor.resnet.layer4.2.conv3.weight"].contains("\"key\":\"layer4.2.conv3.weight\""));
    // The same file against resnet50 itself, without a prefix, but with the wrong num-class
    // option: a clear error.
    let out = nninit(&["init", "--model", "resnet50", "--num-class", "3", "--print-spec"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "error: --num-class applies to --model cpn50 only");
    let out = nninit(&["init", "--model", "resnet5", "--out", "x.safetensors"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model resnet5: use one of resnet50, cpn50"));
}

#[test]
fn bench_json_has_every_baseline_and_adapter_and_a_chart() {
    let scratch = common::scratch("cli-bench");
    let dir = scratch.path();
    let chart = dir.join("ratios.png");
    let files = dir.join("files");
    std::fs::create_dir(&files).unwrap();
    let (chart_arg, files_arg) = (chart.to_str().unwrap(), files.to_str().unwrap());
    let args =
        ["bench", "--quick", "--mib", "2", "--reps", "1", "--json", "--plot", chart_arg, "--file-dir", files_arg];
    let out = nninit(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    for field in ["backend", "adapter", "scheme", "dtype", "bytes", "seconds", "gb_per_s", "elements_per_s"] {
        assert!(rows.iter().all(|r| !r[field].is_null()), "a row lacks {field}");
    }
    assert!(rows.iter().all(|r| r["seconds"].as_f64().unwrap() > 0.0));
    let has = |backend: &str, scheme: &str| rows.iter().any(|r| r["backend"] == backend && r["scheme"] == scheme);
    for baseline in ["memset", "rand-uniform", "rand-normal", "gpu-constant"] {
        assert!(has("baseline", baseline), "no {baseline} row");
    }
    assert!(has("cpu", "uniform") && has("cpu", "normal") && has("gpu", "uniform"));
    // Every adapter is measured, with kernel time where it has timestamps.
    let adapters = report["machine"]["adapters"].as_array().unwrap();
    assert_eq!(adapters.len(), common::contexts().len());
    for adapter in adapters {
        let name = adapter["name"].as_str().unwrap();
        let gpu_rows: Vec<_> = rows.iter().filter(|r| r["adapter"] == name).collect();
        assert!(gpu_rows.len() >= 8, "{name}");
        if adapter["timestamps"] == true {
            assert!(gpu_rows.iter().all(|r| r["kernel_seconds"].as_f64().is_some_and(|k| k > 0.0)), "{name}");
        }
    }
    assert!(report["ratios"].as_array().unwrap().iter().any(|r| r["name"] == "cpu uniform f32 / rand-uniform"));
    // End to end: the fill into a file in --file-dir, in f32 and bf16, beside the folder's own
    // write rate; the files are gone afterwards.
    let in_files = |backend: &str, dtype: &str| {
        rows.iter()
            .any(|r| r["file"] == files_arg && r["backend"] == backend && r["dtype"] == dtype && r["bytes"] == 2 << 20)
    };
    assert!(in_files("baseline", "f32") && in_files("cpu", "f32") && in_files("cpu", "bf16"));
    let ratio_names: Vec<&str> =
        report["ratios"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(ratio_names.contains(&"cpu normal f32 into a file / into memory"), "{ratio_names:?}");
    assert_eq!(std::fs::read_dir(&files).unwrap().count(), 0, "the bench left files behind");
    let out = nninit(&["bench", "--quick", "--file-dir", dir.join("absent").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing is measured before the check");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--file-dir: folder"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&chart).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    // Every adapter reports its workgroup size: the default here.
    assert!(adapters.iter().all(|a| a["workgroup_size"] == nninit::gpu::DEFAULT_WORKGROUP_SIZE));
}

/// `--workgroup-size` reaches the fill kernels (the machine block reports it) and is checked
/// before anything is measured: 0 is a usage error, a size beyond an adapter's limits exit 1.
#[test]
fn bench_workgroup_size_is_used_and_checked_up_front() {
    let args = ["bench", "--quick", "--mib", "1", "--reps", "1", "--json", "--workgroup-size", "7"];
    let out = nninit(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let adapters = report["machine"]["adapters"].as_array().unwrap();
    assert_eq!(adapters.len(), common::contexts().len());
    assert!(adapters.iter().all(|a| a["workgroup_size"] == 7), "{adapters:?}");
    let out = nninit(&["bench", "--quick", "--workgroup-size", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = nninit(&["bench", "--quick", "--workgroup-size", "100000"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing is measured before the check");
    assert!(stderr.contains("--workgroup-size 100000") && stderr.contains("allows at most"), "{stderr}");
}

#[test]
fn inspect_checks_files_and_fails_on_request() {
    let scratch = common::scratch("cli-inspect");
    let dir = scratch.path();
    let model = dir.join("model.safetensors");
    let args =
        ["init", "--model", "transformer-tiny", "--seed", "8", "--device", "cpu", "--out", model.to_str().unwrap()];
    assert!(nninit(&args).status.success());
    let plots = dir.join("plots");
    let out = nninit(&["inspect", model.to_str().unwrap(), "--check", "--plot", plots.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("21 tensors, 21 checked against how they were made, 0 failed"), "{stdout}");
    // Every KS verdict is adjusted over all the KS tests of the run (Holm).
    let ks_lines = stdout.lines().filter(|l| l.contains("KS D = ")).count();
    let adjusted = format!("adjusted over {ks_lines} KS tests (Holm)");
    assert!(ks_lines > 1 && stdout.lines().filter(|l| l.contains(&adjusted)).count() == ks_lines, "{stdout}");
    assert!(plots.join("model.embed_tokens.weight.png").exists());
    assert_eq!(std::fs::read_dir(&plots).unwrap().count(), 21);
    for plot in std::fs::read_dir(&plots).unwrap() {
        let plot = plot.unwrap().path();
        let bytes = std::fs::read(&plot).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() < 60_000, "{}: {} bytes, over the 60 KB aim", plot.display(), bytes.len());
    }

    let out = nninit(&["inspect", model.to_str().unwrap(), "--tensor", "model.norm.weight", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tensor = &report["tensors"][0];
    assert_eq!(tensor["name"], "model.norm.weight");
    assert_eq!(tensor["checks"][0]["check"], "exact");
    assert_eq!(tensor["summary"]["mean"], 1.0);
    assert_eq!(report["metadata"]["nninit.seed"], "8");

    // A file whose metadata promises the wrong scheme fails with --check.
    let lie = dir.join("lie.safetensors");
    let data: Vec<u8> = (0..4096).flat_map(|i| ((i % 64) as f32 / 64.0).to_le_bytes()).collect();
    let metadata = std::collections::HashMap::from([(
        "nninit.scheme".to_string(),
        r#"{"scheme":"normal","mean":0.5,"std":0.3}"#.to_string(),
    )]);
    let tensor = nninit::io::TensorData { name: "weight", dtype: nninit::Dtype::F32, shape: &[4096], data: &data };
    nninit::io::write_atomic(&lie, &[tensor], &metadata).unwrap();
    let out = nninit(&["inspect", lie.to_str().unwrap(), "--check"]);
    assert_eq!(out.status.code(), Some(3), "a failing check is status 3, not an error");
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));
    // Not a safetensors file: one line, status 1.
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a tensor file").unwrap();
    let out = nninit(&["inspect", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: safetensors:") && stderr.lines().count() == 1, "{stderr}");
}

#[test]
fn completions_and_logging() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = nninit(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("nninit") && script.contains("inspect") && script.len() > 1000, "{shell}: {script}");
    }
    // -vv lets wgpu's and nninit's dependencies' messages through; -q and the default do not.
    let chatty = nninit(&["-vv", "adapters"]);
    assert!(chatty.status.success());
    let quiet = nninit(&["adapters", "-q"]);
    assert!(quiet.status.success());
    let log_lines = |out: &Output| {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("[DEBUG") || l.starts_with("[INFO"))
            .count()
    };
    assert!(log_lines(&chatty) > 0, "{}", String::from_utf8_lossy(&chatty.stderr));
    assert_eq!(log_lines(&quiet), 0);
    assert!(!nninit(&["-v", "-q", "adapters"]).status.success(), "-v and -q conflict");
}

#[test]
fn structured_metadata_is_json() {
    let scratch = common::scratch("cli-metadata");
    let dir = scratch.path();
    let out = dir.join("shard.safetensors");
    let args = ["fill", "normal", "--shape", "8,6", "--rows", "2:5", "--seed", "1", "--device", "cpu"];
    let run = nninit(&[&args[..], &["--out", out.to_str().unwrap()]].concat());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (shape, _, meta) = tensor(&out, "weight");
    assert_eq!(shape, [3, 6]);
    let shard: serde_json::Value = serde_json::from_str(&meta["nninit.shard"]).unwrap();
    assert_eq!(shard, serde_json::json!({"rows": [2, 5], "cols": null}));
    let full: Vec<usize> = serde_json::from_str(&meta["nninit.shape"]).unwrap();
    assert_eq!(full, [8, 6]);
    let scheme: nninit::Scheme = serde_json::from_str(&meta["nninit.scheme"]).unwrap();
    assert_eq!(scheme, nninit::Scheme::normal(0.0, 1.0).unwrap());
}

#[test]
fn fill_init_and_adapters_print_one_json_document() {
    let scratch = common::scratch("cli-json");
    let dir = scratch.path();
    let out = dir.join("w.safetensors");
    let run = nninit(&[
        "fill",
        "kaiming_uniform",
        "--shape",
        "16,8",
        "--device",
        "cpu",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["shape"], serde_json::json!([16, 8]));
    assert_eq!(doc["bytes"], 512);
    assert_eq!(doc["scheme"]["scheme"], "kaiming_uniform");
    // Without --seed the drawn seed is in the document, and the human line went to stderr.
    assert!(doc["seed"].is_u64());
    assert!(String::from_utf8_lossy(&run.stderr).contains("seed: "));

    let model = dir.join("m.safetensors");
    let run = nninit(&[
        "init",
        "--model",
        "transformer-tiny",
        "--seed",
        "4",
        "--device",
        "cpu",
        "--json",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["tensors"], 21);
    assert_eq!(doc["seed"], 4);
    assert_eq!(
        doc["bytes"],
        std::fs::metadata(&model).unwrap().len() - 8 - {
            let bytes = std::fs::read(&model).unwrap();
            u64::from_le_bytes(bytes[..8].try_into().unwrap())
        }
    );

    let run = nninit(&["adapters", "--json"]);
    assert!(run.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&run.stdout).expect("a JSON array");
    assert_eq!(list.len(), common::contexts().len());
    assert!(list.iter().all(|a| a["max_buffer"].as_u64().is_some_and(|b| b > 0)));
}
