//! The engine example as a test: on every adapter, an engine's own device, a model recorded into
//! its encoder with name streams, and a forward pass in the same submission. The arena holds, bit
//! for bit, what `nninit init` writes for the same spec, seed and dtype, and the forward pass
//! matches the CPU.

mod common;

#[allow(dead_code)]
#[path = "../examples/engine.rs"]
mod engine;

use nninit::io::TensorFile;

#[test]
fn engine_weights_equal_nninit_init_bit_for_bit_on_every_adapter() {
    // The adapters must be there (common::contexts checks NNINIT_REQUIRE_BACKENDS).
    let expected_adapters = common::contexts().len();
    let scratch = common::scratch("engine");
    let dir = scratch.path();
    let spec_path = dir.join("mlp.json");
    std::fs::write(&spec_path, serde_json::to_string(&engine::mlp_spec().unwrap()).unwrap()).unwrap();
    let file_path = dir.join("mlp.safetensors");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_nninit"))
        .args(["init", "--model"])
        .arg(&spec_path)
        .args(["--seed", &engine::SEED.to_string(), "--dtype", "f32", "--device", "cpu", "--quiet", "--out"])
        .arg(&file_path)
        .status()
        .unwrap();
    assert!(status.success());
    let file = TensorFile::open(&file_path).unwrap();
    let names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"];
    let written: Vec<Vec<u8>> = names.iter().map(|n| file.read_all(file.entry(n).unwrap()).unwrap()).collect();

    let input = engine::input();
    let cpu_out = engine::cpu_forward(&input).unwrap();
    let adapters = engine::engine_adapters();
    assert_eq!(adapters.len(), expected_adapters);
    for adapter in &adapters {
        let run = engine::run_on(adapter, &input).unwrap();
        for (name, (got, want)) in names.iter().zip(run.weights.iter().zip(&written)) {
            assert!(got == want, "{}: {name} differs from nninit init's file", run.adapter);
        }
        let worst = run.output.iter().zip(&cpu_out).map(|(g, c)| (g - c).abs()).fold(0f32, f32::max);
        assert!(worst <= 1e-4, "{}: forward pass differs from the CPU by {worst:e}", run.adapter);
    }
    std::fs::remove_dir_all(dir).unwrap();
}
