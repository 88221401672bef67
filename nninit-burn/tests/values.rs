//! The values nninit-burn writes into burn modules, in place on both software adapters and on
//! burn's CPU backend: each equals `nninit init --like` of the module's own PyTorch state_dict
//! (burn-store's export), byte for byte.

mod common;

use burn::module::Module;
use burn::tensor::Device;
use common::{adapters, assert_like, export, tensors, Block, Cnn, Mlp, ResNet};
use nninit_burn::{Initializer, Rules};

const SEED: u64 = 20261206;

/// Initializes `make(device)` on every adapter in place and on burn's CPU backend (flex), exports
/// each, and checks each against `nninit init --like` and the others.
fn check<M: Module>(make: impl Fn(&Device) -> M, names: &[&str], col: &[&str]) {
    let scratch = tempfile::tempdir().expect("scratch");
    let mut files = Vec::new();
    for adapter in adapters() {
        let init = Initializer::new(&adapter.device, &adapter.setup).expect("initializer");
        let mut model = make(&adapter.device);
        let report = init.init(&mut model, SEED, &Rules::pytorch()).expect("init in place");
        assert_eq!((report.in_place, report.on_host), (names.len(), 0), "every parameter in place on {}", adapter.name);
        let path = scratch.path().join(format!("{}.safetensors", adapter.name));
        export(&model, &path, col);
        assert_like(&path, SEED, names);
        files.push(path);
    }
    let cpu = Device::flex();
    let mut model = make(&cpu);
    let report = nninit_burn::init(&mut model, SEED, &Rules::pytorch()).expect("init on the host");
    assert_eq!((report.in_place, report.on_host), (0, names.len()));
    let path = scratch.path().join("flex.safetensors");
    export(&model, &path, col);
    assert_like(&path, SEED, names);
    let reference = tensors(&path);
    for other in &files {
        assert_eq!(tensors(other), reference, "{} against burn's CPU backend", other.display());
    }
}

#[test]
fn mlp_in_both_linear_layouts() {
    check(Mlp::new, &["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "head.weight"], &["fc2.weight"]);
}

#[test]
fn cnn_with_batch_norm() {
    let mut names = vec!["conv1.weight", "conv1.bias", "conv2.weight", "fc.weight", "fc.bias"];
    for bn in ["bn1", "bn2"] {
        for p in ["weight", "bias", "running_mean", "running_var"] {
            names.push(Box::leak(format!("{bn}.{p}").into_boxed_str()));
        }
    }
    check(Cnn::new, &names, &[]);
}

#[test]
fn transformer_block() {
    check(
        Block::new,
        &[
            "embed.weight",
            "input_norm.weight",
            "input_norm.bias",
            "q_proj.weight",
            "q_proj.bias",
            "k_proj.weight",
            "v_proj.weight",
            "o_proj.weight",
            "o_proj.bias",
            "post_norm.weight",
            "up_proj.weight",
            "up_proj.bias",
            "down_proj.weight",
            "down_proj.bias",
        ],
        &["o_proj.weight"],
    );
}

#[test]
fn resnet_stack() {
    let mut names: Vec<String> = vec!["conv1.weight".into(), "fc.weight".into(), "fc.bias".into()];
    let bn = |names: &mut Vec<String>, at: &str| {
        for p in ["weight", "bias", "running_mean", "running_var"] {
            names.push(format!("{at}.{p}"));
        }
    };
    bn(&mut names, "bn1");
    for (i, down) in [(0, false), (1, true), (2, false)] {
        for (conv, norm) in [("conv1", "bn1"), ("conv2", "bn2")] {
            names.push(format!("layers.{i}.{conv}.weight"));
            bn(&mut names, &format!("layers.{i}.{norm}"));
        }
        if down {
            names.push(format!("layers.{i}.downsample.conv.weight"));
            bn(&mut names, &format!("layers.{i}.downsample.bn"));
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    check(ResNet::new, &names, &[]);
}
