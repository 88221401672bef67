//! A forward pass in burn on a model nninit initialized in place equals the same forward pass
//! computed on the CPU (in f64) from the PyTorch state_dict of the model, on both adapters.

mod common;

use burn::tensor::{Tensor, TensorData};
use common::{adapters, export, tensors, Mlp};
use nninit_burn::{Initializer, Rules};

/// `relu(x W^T + b)` (or without relu / bias) in f64, PyTorch's `[out, in]` weight.
fn linear(x: &[f64], rows: usize, w: &[f32], out: usize, b: Option<&[f32]>, relu: bool) -> Vec<f64> {
    let inn = w.len() / out;
    let mut y = vec![0f64; rows * out];
    for r in 0..rows {
        for o in 0..out {
            let mut s = b.map_or(0.0, |b| b[o] as f64);
            for i in 0..inn {
                s += x[r * inn + i] * w[o * inn + i] as f64;
            }
            y[r * out + o] = if relu { s.max(0.0) } else { s };
        }
    }
    y
}

#[test]
fn mlp_forward_matches_the_cpu() {
    for adapter in adapters() {
        forward_on(adapter);
    }
}

fn forward_on(adapter: &common::Adapter) {
    let init = Initializer::new(&adapter.device, &adapter.setup).expect("initializer");
    let mut model = Mlp::new(&adapter.device);
    init.init(&mut model, 11, &Rules::pytorch()).expect("init");
    let rows = 8;
    let x: Vec<f32> = (0..rows * 48).map(|i| ((i as f32) * 0.37).sin()).collect();
    let input = Tensor::<2>::from_data(TensorData::new(x.clone(), [rows, 48]), &adapter.device);
    let out = model.forward(input).into_data().try_to_vec::<f32>().expect("f32 output");

    let scratch = tempfile::tempdir().expect("scratch");
    let path = scratch.path().join("mlp.safetensors");
    export(&model, &path, &["fc2.weight"]);
    let file = tensors(&path);
    let get = |name: &str| -> Vec<f32> { bytemuck::pod_collect_to_vec(&file[name].1) };
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let h = linear(&x, rows, &get("fc1.weight"), 64, Some(&get("fc1.bias")), true);
    let h = linear(&h, rows, &get("fc2.weight"), 64, Some(&get("fc2.bias")), true);
    let want = linear(&h, rows, &get("head.weight"), 10, None, false);
    assert_eq!(out.len(), want.len());
    // f32 sums of 64 terms of size ~0.1 against f64: 1e-5 absolute and relative is ample.
    for (i, (&got, &want)) in out.iter().zip(&want).enumerate() {
        assert!(
            (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "{}: output {i}: burn {got}, CPU {want}",
            adapter.name
        );
    }
    // Not a trivial output: the weights reached the kernels.
    assert!(want.iter().any(|v| v.abs() > 0.05), "{want:?}");
}
