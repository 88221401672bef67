//! Model specs, rules and Hugging Face configs: any JSON parsed, resolved for a seed and a dtype,
//! and, when small, made on the CPU. Every step may fail with an error; nothing may panic, hang or
//! abort.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nninit::cpu::CpuBackend;
use nninit::model::{Backend, HfConfig, Model, ModelSpec, Rule};
use nninit::Dtype;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Vec<Rule>>(data);
    let spec = match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(json) if HfConfig::is_hf_config(&json) => {
            // Bounded work per input: a config of 10^5 layers or more is a memory test, not a
            // parsing one.
            let Ok(config) = HfConfig::from_json(&json) else { return };
            if config.num_hidden_layers > 10_000 {
                return;
            }
            let Ok(spec) = config.spec() else { return };
            spec
        }
        _ => {
            let Ok(spec) = serde_json::from_slice::<ModelSpec>(data) else { return };
            spec
        }
    };
    let _ = (spec.elements(), spec.parameters());
    for dtype in [Dtype::F32, Dtype::Bf16] {
        let Ok(model) = Model::new(&spec, 7, dtype) else { return };
        // Bounded work per input: models of at most 1 MiB are made, in small pieces.
        if model.bytes() <= 1 << 20 {
            let mut bytes = 0usize;
            let cpu = CpuBackend::with_threads(1);
            let _ = model.produce_blocking(Backend::Cpu(&cpu), 4096, &mut |_, piece| {
                bytes += piece.len();
                Ok(())
            });
        }
    }
});
