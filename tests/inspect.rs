//! `nninit::inspect` against files whose contents are known: nninit's own (every check must
//! pass), tampered copies (the matching check must fail), and files without metadata.

mod common;

use std::collections::HashMap;
use std::path::Path;

use nninit::cpu::CpuBackend;
use nninit::inspect::{inspect, Check, Made};
use nninit::io::{write_atomic, TensorData, TensorFile};
use nninit::model::{Backend, ElementType, LayerKind, Model, ModelSpec, Rule, TensorSpec};
use nninit::{Dtype, Scheme};

/// One tensor per kind of check, large enough for the KS tests to have power.
fn spec() -> ModelSpec {
    let mut tensors = vec![
        TensorSpec::new("uniform.weight", &[256, 300], LayerKind::Linear),
        TensorSpec::new("normal.weight", &[64, 32, 3, 3], LayerKind::Conv),
        TensorSpec::new("trunc.weight", &[50_000], LayerKind::Other),
        TensorSpec::new("eye.weight", &[30, 40], LayerKind::Other),
        TensorSpec::new("dirac.weight", &[6, 4, 3, 3], LayerKind::Other),
        TensorSpec::new("orthogonal.weight", &[96, 64], LayerKind::Other),
        TensorSpec::new("sparse.weight", &[200, 150], LayerKind::Other),
        TensorSpec::new("bn.running_var", &[64], LayerKind::Batchnorm),
        TensorSpec::new("bn.num_batches_tracked", &[], LayerKind::Batchnorm),
    ];
    tensors[2].scheme = Some(Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04).unwrap());
    tensors[3].scheme = Some(Scheme::eye());
    tensors[4].scheme = Some(Scheme::dirac(2).unwrap());
    tensors[5].scheme = Some(Scheme::orthogonal(2.0).unwrap());
    tensors[6].scheme = Some(Scheme::sparse(0.3, 0.05).unwrap());
    tensors[8].dtype = Some(ElementType::I64);
    let rules = vec![
        Rule::for_param(
            LayerKind::Linear,
            "weight",
            Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu").unwrap(),
        ),
        Rule::for_param(LayerKind::Conv, "weight", Scheme::kaiming_normal(0.0, "fan_out", "relu").unwrap()),
        Rule::for_any("running_var", Scheme::ones()),
        Rule::for_any("num_batches_tracked", Scheme::zeros()),
    ];
    ModelSpec { name: "checks".into(), tensors, rules }
}

fn write_model(dtype: Dtype, name: &str) -> (Model, tempfile::TempPath) {
    let plan = Model::new(&spec(), 11, dtype).unwrap();
    let path = common::scratch_file(name);
    plan.write_safetensors_blocking(
        &nninit::model::Destination::File(path.to_path_buf()),
        Backend::Cpu(&CpuBackend::new()),
        &HashMap::new(),
        &mut |_, _| {},
    )
    .unwrap();
    (plan, path)
}

#[test]
fn every_check_passes_on_nninit_files_in_every_dtype() {
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        let (plan, path) = write_model(dtype, &format!("model-{dtype:?}.safetensors"));
        let file = TensorFile::open(&path).unwrap();
        for entry in file.entries() {
            let report = inspect(&file, entry).unwrap();
            let t = plan.tensor(&entry.name).unwrap();
            assert!(matches!(&report.made, Some(Made::Scheme { scheme, .. }) if *scheme == t.scheme), "{}", entry.name);
            assert!(!report.checks.is_empty(), "{dtype:?} {}: no check ran", entry.name);
            for check in &report.checks {
                assert!(check.passed(), "{dtype:?} {}: {}", entry.name, check.describe());
                assert!(!matches!(check, Check::Skipped { .. }), "{dtype:?} {}: {}", entry.name, check.describe());
            }
            // Expected moments agree with the sample within six standard errors.
            if let Some((mean, std)) = report.expected_moments {
                let n = report.summary.count as f64;
                assert!((report.summary.mean - mean).abs() < 6.0 * std / n.sqrt(), "{dtype:?} {}", entry.name);
                assert!(
                    (report.summary.std / std - 1.0).abs() < 6.0 / (2.0 * n).sqrt() + 0.01,
                    "{dtype:?} {}",
                    entry.name
                );
            }
        }
    }
}

/// Rewrites `path` with tensor `name`'s values passed through `change`, keeping the metadata.
fn tamper(path: &Path, name: &str, out: &str, change: impl Fn(&mut [f32])) -> tempfile::TempPath {
    let file = TensorFile::open(path).unwrap();
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for entry in file.entries().iter().filter(|e| e.dtype == safetensors::Dtype::F32) {
        let mut bytes = file.read_all(entry).unwrap();
        if entry.name == name {
            let mut values: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
            change(&mut values);
            bytes = bytemuck::cast_slice(&values).to_vec();
        }
        owned.push((entry.name.clone(), Dtype::F32, entry.shape.clone(), bytes));
    }
    let tensors: Vec<TensorData> =
        owned.iter().map(|(n, d, s, b)| TensorData { name: n, dtype: *d, shape: s, data: b }).collect();
    let target = common::scratch_file(out);
    write_atomic(&target, &tensors, file.metadata()).unwrap();
    target
}

/// The tensor's first check (the KS test where there is one).
fn check_of(path: &Path, name: &str) -> Check {
    let file = TensorFile::open(path).unwrap();
    let report = inspect(&file, file.entry(name).unwrap()).unwrap();
    report.checks.into_iter().find(|c| !matches!(c, Check::Skipped { .. })).unwrap()
}

#[test]
fn tampered_tensors_fail_the_matching_check() {
    let (_, path) = write_model(Dtype::F32, "clean.safetensors");
    // Uniform values widened by 3%: the KS test sees it.
    let widened = tamper(&path, "uniform.weight", "widened.safetensors", |v| v.iter_mut().for_each(|x| *x *= 1.03));
    assert!(!check_of(&widened, "uniform.weight").passed());
    // Normal values with the wrong std (fan_in instead of fan_out: 32 vs 64 channels).
    let scaled = tamper(&path, "normal.weight", "scaled.safetensors", |v| v.iter_mut().for_each(|x| *x *= 2f32.sqrt()));
    assert!(!check_of(&scaled, "normal.weight").passed());
    // One element of eye changed.
    let eye = tamper(&path, "eye.weight", "eye.safetensors", |v| v[41] = 0.5);
    assert_eq!(check_of(&eye, "eye.weight"), Check::Exact { mismatches: 1, elements: 1200 });
    // An orthogonal matrix with one row scaled.
    let bent = tamper(&path, "orthogonal.weight", "bent.safetensors", |v| v[..64].iter_mut().for_each(|x| *x *= 1.01));
    assert!(!check_of(&bent, "orthogonal.weight").passed());
    // A sparse column with one zero too few.
    let filled = tamper(&path, "sparse.weight", "filled.safetensors", |v| {
        let zero = (0..200).map(|r| r * 150 + 7).find(|&i| v[i] == 0.0).unwrap();
        v[zero] = 0.01;
    });
    let file = TensorFile::open(&filled).unwrap();
    let checks = inspect(&file, file.entry("sparse.weight").unwrap()).unwrap().checks;
    let check = checks.into_iter().find(|c| matches!(c, Check::ZerosPerColumn { .. })).unwrap();
    assert!(matches!(check, Check::ZerosPerColumn { expected: 60, min: 59, .. }), "{check:?}");
    assert!(!check.passed());
}

/// Inspects `name` in `path` on a thread, so a hang is a failure after `seconds`, not a stuck run.
fn inspect_within(path: &Path, name: &str, seconds: u64) -> nninit::inspect::TensorReport {
    let (path, name) = (path.to_path_buf(), name.to_string());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let file = TensorFile::open(&path).unwrap();
        let _ = sender.send(inspect(&file, file.entry(&name).unwrap()).unwrap());
    });
    receiver.recv_timeout(std::time::Duration::from_secs(seconds)).expect("inspect returns")
}

#[test]
fn nan_and_infinite_values_are_counted_and_fail_the_distribution_check() {
    let (_, path) = write_model(Dtype::F32, "finite.safetensors");
    // One NaN (which once made the rounded KS statistic loop forever), then NaN and infinities
    // of both signs, every sign and payload bit set in one of them.
    type Change<'a> = &'a dyn Fn(&mut [f32]);
    let cases: [(&str, Change); 2] = [
        ("one-nan.safetensors", &|v: &mut [f32]| v[0] = f32::NAN),
        ("many.safetensors", &|v: &mut [f32]| {
            v[3] = f32::from_bits(u32::MAX);
            v[100] = f32::INFINITY;
            v[101] = f32::NEG_INFINITY;
            v[1000] = -f32::NAN;
        }),
    ];
    for (out, change) in cases {
        for name in ["normal.weight", "uniform.weight", "orthogonal.weight", "sparse.weight"] {
            let tampered = tamper(&path, name, out, change);
            let report = inspect_within(&tampered, name, 60);
            assert!(report.summary.non_finite >= 1, "{out} {name}: {:?}", report.summary);
            assert!(report.checks.iter().any(|c| !c.passed()), "{out} {name}: {:?}", report.checks);
            if let Some(Check::Ks { non_finite, .. }) = report.checks.iter().find(|c| matches!(c, Check::Ks { .. })) {
                assert_eq!(*non_finite, report.summary.non_finite, "{out} {name}");
            }
        }
    }
}

#[test]
fn the_rounded_ks_statistic_of_nan_samples_ends() {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let cdf = |x: f64| x.clamp(0.0, 1.0);
        let samples = [0.5, f64::NAN, 0.25, f64::NAN, f64::from_bits(u64::MAX), 0.75];
        let _ = sender.send(nninit::inspect::stats::ks_statistic_rounded(&samples, cdf, |v| (v, v)));
    });
    let d = receiver.recv_timeout(std::time::Duration::from_secs(30)).expect("the statistic is computed");
    // The NaNs sort last and stand beyond the CDF's support: half the sample is off.
    assert!(d >= 0.5, "{d}");
}

#[test]
fn files_without_metadata_get_statistics_only() {
    // As PyTorch's safetensors.torch.save_file writes them: no nninit metadata.
    let values: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.731).sin() * 3.0).collect();
    let path = common::scratch_file("plain.safetensors");
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_atomic(
        &path,
        &[TensorData { name: "w", dtype: Dtype::F32, shape: &[10, 100], data: &data }],
        &HashMap::new(),
    )
    .unwrap();
    let file = TensorFile::open(&path).unwrap();
    let report = inspect(&file, &file.entries()[0]).unwrap();
    assert!(report.made.is_none() && report.checks.is_empty());
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!((report.summary.mean - mean).abs() < 1e-12 && (report.summary.std - std).abs() < 1e-12);
    assert_eq!(report.summary.min, values.iter().copied().fold(f32::INFINITY, f32::min) as f64);
    assert_eq!(report.summary.zeros, 1); // sin(0)
    assert_eq!(report.histogram.counts.iter().sum::<u64>(), 1000);
}

#[test]
fn rounded_ks_matches_the_continuous_one_without_rounding() {
    let samples: Vec<f64> = (0..500).map(|i| ((i * 7919) % 500) as f64 / 500.0 + 0.0007).collect();
    let cdf = |x: f64| x.clamp(0.0, 1.0);
    let continuous = nninit::inspect::stats::ks_statistic(&samples, cdf);
    let rounded = nninit::inspect::stats::ks_statistic_rounded(&samples, cdf, |v| (v, v));
    assert!((continuous - rounded).abs() < 1e-15);
    // Values on a grid of step 0.1 tested against the continuous CDF fail; against the CDF of
    // the rounded variable they pass.
    let gridded: Vec<f64> = (0..10_000).map(|i| ((i % 10) as f64 + 0.5) / 10.0).collect();
    let cell = |v: f64| (v - 0.05, v + 0.05);
    assert!(nninit::inspect::stats::ks_statistic(&gridded, cdf) > 0.04);
    assert!(nninit::inspect::stats::ks_statistic_rounded(&gridded, cdf, cell) < 1e-12);
}

#[test]
fn other_dtypes_are_decoded_or_refused_per_tensor() {
    use nninit::io::{TensorHeader, TensorWriter};
    use safetensors::Dtype as St;
    let path = common::scratch_file("other-dtypes.safetensors");
    let headers = [
        TensorHeader { name: "fp8".into(), dtype: St::F8_E4M3, shape: vec![4] },
        TensorHeader { name: "fp4".into(), dtype: St::F4, shape: vec![4] },
        TensorHeader { name: "int".into(), dtype: St::I32, shape: vec![2] },
        TensorHeader { name: "double".into(), dtype: St::F64, shape: vec![1] },
    ];
    let mut writer = TensorWriter::create(&path, &headers, &HashMap::new()).unwrap();
    writer.write(&[0x38, 0xb8, 0x7e, 0x01]).unwrap(); // 1, -1, 448, 2^-9
    writer.write(&[0x12, 0x34]).unwrap();
    writer.write(&[(-3i32).to_le_bytes(), 7i32.to_le_bytes()].concat()).unwrap();
    writer.write(&0.1f64.to_le_bytes()).unwrap();
    writer.finish().unwrap();
    let file = TensorFile::open(&path).unwrap();
    let fp8 = inspect(&file, file.entry("fp8").unwrap()).unwrap().summary;
    assert_eq!((fp8.min, fp8.max), (-1.0, 448.0));
    assert_eq!(fp8.mean, (448.0 + 2f64.powi(-9)) / 4.0);
    let e = inspect(&file, file.entry("fp4").unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "safetensors: F4 tensors are not supported");
    let int = inspect(&file, file.entry("int").unwrap()).unwrap().summary;
    assert_eq!((int.mean, int.std), (2.0, 5.0));
    assert_eq!(inspect(&file, file.entry("double").unwrap()).unwrap().summary.max, 0.1);
    // The command line prints every tensor in the file's order, the one left out in its place.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nninit")).args(["inspect"]).arg(&*path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = |name: &str| text.find(&format!("{name} ")).unwrap_or_else(|| panic!("{name} missing from {text}"));
    assert!(at("fp8") < at("fp4") && at("fp4") < at("int") && at("int") < at("double"), "{text}");
    assert!(text.contains("fp4 F4 [4]: not inspected"), "{text}");
}

/// Runs the `nninit` binary.
fn nninit(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_nninit")).args(args).output().expect("run nninit")
}

/// Overwrites every data byte of the one-tensor file at `path` with `byte`.
fn overwrite_data(path: &Path, byte: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[8 + header..].fill(byte);
    std::fs::write(path, bytes).unwrap();
}

/// A shard knows its rows and columns: the deterministic schemes, orthogonal and sparse are
/// checked value by value against their slice of the whole tensor (regenerated from the
/// recorded stream where the values are random), so a shard whose data was overwritten fails,
/// in every dtype, with a zero row inside the shard or not.
#[test]
fn shards_are_checked_against_their_slice_of_the_whole_tensor() {
    let scratch = common::scratch("inspect-shards");
    let path = scratch.path().join("s.safetensors");
    let p = path.to_str().unwrap();
    let schemes: [&[&str]; 7] = [
        &["ones"],
        &["zeros"],
        &["constant", "--val", "0.25"],
        &["eye"],
        &["orthogonal", "--gain", "2"],
        &["sparse", "--sparsity", "0.5"],
        &["dirac"],
    ];
    for scheme in schemes {
        let (shape, blocks): (&str, &[&[&str]]) = match scheme[0] {
            "dirac" => ("6,3,3", &[&["--rows", "1:4"]]),
            _ => (
                "6,9",
                &[
                    &["--rows", "0:3"],
                    &["--cols", "2:7"],
                    &["--rows", "1:5", "--cols", "3:8"],
                    &["--rows", "2:6", "--padding-idx", "3"],
                ],
            ),
        };
        for block in blocks {
            for dtype in ["f32", "bf16"] {
                let base = [
                    "fill", scheme[0], "--shape", shape, "--seed", "7", "--stream", "3", "--device", "cpu", "--dtype",
                    dtype, "--out", p,
                ];
                let args = [&base[..], &scheme[1..], block].concat();
                let what = format!("{args:?}");
                assert!(nninit(&args).status.success(), "{what}");
                let report = nninit(&["inspect", p, "--check"]);
                let text = String::from_utf8_lossy(&report.stdout);
                assert_eq!(report.status.code(), Some(0), "{what}: {text}");
                assert!(text.contains("exact: 0 of"), "{what}: {text}");
                overwrite_data(&path, 0x3f);
                let report = nninit(&["inspect", p, "--check"]);
                let text = String::from_utf8_lossy(&report.stdout);
                assert_eq!(report.status.code(), Some(3), "{what}: {text}");
                assert!(text.contains("exact: ") && text.contains("FAILED"), "{what}: {text}");
            }
        }
    }
}

/// `constant_` of NaN or an infinity is recorded as PyTorch prints it ("nan", "inf", "-inf"), not
/// as JSON's null, and checked: the file's values are those, and overwritten ones fail.
#[test]
fn non_finite_constants_are_recorded_faithfully_and_checked() {
    let scratch = common::scratch("inspect-nan");
    let path = scratch.path().join("c.safetensors");
    let p = path.to_str().unwrap();
    for (val, recorded) in [("nan", "\"nan\""), ("inf", "\"inf\""), ("-inf", "\"-inf\"")] {
        let fill =
            nninit(&["fill", "constant", "--val", val, "--shape", "5,3", "--seed", "1", "--device", "cpu", "--out", p]);
        assert!(fill.status.success(), "{}", String::from_utf8_lossy(&fill.stderr));
        let file = TensorFile::open(&path).unwrap();
        let scheme = &file.metadata()["nninit.scheme"];
        assert_eq!(scheme, &format!("{{\"scheme\":\"constant\",\"val\":{recorded}}}"));
        let parsed: Scheme = serde_json::from_str(scheme).unwrap();
        let expected = Scheme::constant(val.parse().unwrap()).unwrap();
        assert_eq!(parsed.to_string(), expected.to_string());
        let values: Vec<f32> = bytemuck::pod_collect_to_vec(&file.read_all(&file.entries()[0]).unwrap());
        assert!(values.iter().all(|v| v.to_string() == val.parse::<f32>().unwrap().to_string()), "{values:?}");
        let report = nninit(&["inspect", p, "--check"]);
        assert_eq!(report.status.code(), Some(0), "{val}: {}", String::from_utf8_lossy(&report.stdout));
        assert!(String::from_utf8_lossy(&report.stdout).contains("exact: 0 of 15 elements differ: ok"));
        overwrite_data(&path, 0);
        let report = nninit(&["inspect", p, "--check"]);
        assert_eq!(report.status.code(), Some(3), "{val}: {}", String::from_utf8_lossy(&report.stdout));
    }
    // A spec may spell them the same way; anything else is a clear error.
    assert!(serde_json::from_str::<Scheme>(r#"{"scheme": "constant", "val": "NaN!"}"#).is_err());
}
