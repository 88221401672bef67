//! The pretrained merge: any bytes as a pretrained file for a small model whose tensor names and
//! shapes a real file could match, merged and, when it merges, made on the CPU.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nninit::cpu::CpuBackend;
use nninit::model::{Backend, ElementType, LayerKind, Model, ModelSpec, Pretrained, Rule, TensorSpec};
use nninit::{Dtype, Scheme};

fn spec() -> ModelSpec {
    let mut count = TensorSpec::new("bn.num_batches_tracked", &[], LayerKind::Batchnorm);
    count.dtype = Some(ElementType::I64);
    let tensors = vec![
        TensorSpec::new("w", &[2, 3], LayerKind::Linear),
        TensorSpec::new("b", &[3], LayerKind::Linear),
        TensorSpec::new("x.weight", &[4], LayerKind::Norm),
        count,
    ];
    ModelSpec { name: "small".into(), tensors, rules: vec![Rule::for_name("*", Scheme::zeros())] }
}

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("nninit-fuzz-pretrained-{}.safetensors", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    for dtype in [Dtype::F32, Dtype::F16] {
        let mut model = Model::new(&spec(), 1, dtype).expect("the fixed spec is valid");
        let files = [Pretrained { prefix: String::new(), path: path.clone() }];
        if model.merge_pretrained(&files).is_ok() {
            let _ = model.to_host_blocking(Backend::Cpu(&CpuBackend::with_threads(1)));
        }
    }
    let _ = std::fs::remove_file(&path);
});
