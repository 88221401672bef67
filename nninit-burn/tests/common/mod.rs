//! What the tests share: burn's wgpu devices on the software adapters, four models, and the
//! reference: `nninit init --like` of the exported state_dict.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig,
    LinearLayout, PaddingConfig2d, RmsNorm, RmsNormConfig,
};
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::wgpu::{WgpuBackend, WgpuSetup};
use burn::tensor::{Device, Tensor};
use nninit::cpu::CpuBackend;
use nninit::model::{spec_like, Backend, Model};
use nninit::Dtype;

/// burn's wgpu device on one graphics API, with its handles.
pub struct Adapter {
    pub name: &'static str,
    pub device: Device,
    pub setup: WgpuSetup,
}

/// burn's device on lavapipe (Vulkan) and on llvmpipe (GL), each registered once per process.
/// A missing adapter fails when `NNINIT_REQUIRE_BACKENDS` names it (as in CI), else it is
/// reported and left out; none at all fails.
pub fn adapters() -> &'static [Adapter] {
    static ADAPTERS: OnceLock<Vec<Adapter>> = OnceLock::new();
    ADAPTERS.get_or_init(|| {
        let required = std::env::var("NNINIT_REQUIRE_BACKENDS").unwrap_or_default();
        let mut found = Vec::new();
        for (name, api) in [("vulkan", WgpuBackend::Vulkan), ("gl", WgpuBackend::Gl)] {
            match Device::wgpu_options().graphics_api(api).init_with_setup() {
                Ok((device, setup)) => {
                    eprintln!("burn on {name}: {}", setup.adapter.get_info().name);
                    found.push(Adapter { name, device, setup });
                }
                Err(e) if required.split(',').any(|r| r == name) => {
                    panic!("NNINIT_REQUIRE_BACKENDS names {name}, but burn found no such device: {e}")
                }
                Err(e) => eprintln!("no burn device on {name} ({e}): its tests are left out"),
            }
        }
        assert!(!found.is_empty(), "no wgpu adapter: install mesa-vulkan-drivers (lavapipe) or a GPU driver");
        found
    })
}

/// An initializer for every adapter (in place) and for burn's CPU backend, flex (on the host).
pub fn initializers() -> Vec<(Device, nninit_burn::Initializer)> {
    let mut all: Vec<(Device, nninit_burn::Initializer)> = adapters()
        .iter()
        .map(|a| (a.device.clone(), nninit_burn::Initializer::new(&a.device, &a.setup).expect("initializer")))
        .collect();
    all.push((Device::flex(), nninit_burn::Initializer::cpu()));
    all
}

/// A multi-layer perceptron, with one layer in each of burn's Linear layouts.
#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
    pub head: Linear,
}

impl Mlp {
    pub fn new(device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(48, 64).init(device),
            fc2: LinearConfig::new(64, 64).with_layout(LinearLayout::Col).init(device),
            head: LinearConfig::new(64, 10).with_bias(false).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = burn::tensor::activation::relu(self.fc1.forward(x));
        let x = burn::tensor::activation::relu(self.fc2.forward(x));
        self.head.forward(x)
    }
}

/// A small CNN with batch norms.
#[derive(Module, Debug)]
pub struct Cnn {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub fc: Linear,
}

impl Cnn {
    pub fn new(device: &Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([3, 16], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device),
            bn1: BatchNormConfig::new(16).init(device),
            conv2: Conv2dConfig::new([16, 32], [3, 3]).with_bias(false).init(device),
            bn2: BatchNormConfig::new(32).init(device),
            fc: LinearConfig::new(32, 10).init(device),
        }
    }
}

/// A pre-norm transformer block as Llama and GPT-2 write it (projections are Linear layers).
#[derive(Module, Debug)]
pub struct Block {
    pub embed: Embedding,
    pub input_norm: LayerNorm,
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    pub post_norm: RmsNorm,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl Block {
    pub fn new(device: &Device) -> Self {
        let (d, ff) = (64, 176);
        Self {
            embed: EmbeddingConfig::new(100, d).init(device),
            input_norm: LayerNormConfig::new(d).init(device),
            q_proj: LinearConfig::new(d, d).init(device),
            k_proj: LinearConfig::new(d, d / 2).with_bias(false).init(device),
            v_proj: LinearConfig::new(d, d / 2).with_bias(false).init(device),
            o_proj: LinearConfig::new(d, d).with_layout(LinearLayout::Col).init(device),
            post_norm: RmsNormConfig::new(d).init(device),
            up_proj: LinearConfig::new(d, ff).init(device),
            down_proj: LinearConfig::new(ff, d).init(device),
        }
    }
}

/// A ResNet basic block: two 3x3 convolutions with batch norms, and a 1x1 downsample.
#[derive(Module, Debug)]
pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub downsample: Option<Downsample>,
}

/// A 1x1 convolution and its batch norm (torchvision: `downsample.0`, `downsample.1`).
#[derive(Module, Debug)]
pub struct Downsample {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

/// A ResNet-style stack: a stem and a `Vec` of blocks (`layers.0.conv1.weight`, ...).
#[derive(Module, Debug)]
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub layers: Vec<BasicBlock>,
    pub fc: Linear,
}

impl ResNet {
    pub fn new(device: &Device) -> Self {
        let conv = |i, o, k| Conv2dConfig::new([i, o], [k, k]).with_bias(false).init(device);
        let block = |i, o| BasicBlock {
            conv1: conv(i, o, 3),
            bn1: BatchNormConfig::new(o).init(device),
            conv2: conv(o, o, 3),
            bn2: BatchNormConfig::new(o).init(device),
            downsample: (i != o).then(|| Downsample { conv: conv(i, o, 1), bn: BatchNormConfig::new(o).init(device) }),
        };
        Self {
            conv1: conv(3, 16, 7),
            bn1: BatchNormConfig::new(16).init(device),
            layers: vec![block(16, 16), block(16, 32), block(32, 32)],
            fc: LinearConfig::new(32, 10).init(device),
        }
    }
}

/// Writes `module` as PyTorch's state_dict, as burn users do: burn-store's safetensors export
/// with its PyTorch adapter (Linear weights transposed, gamma/beta named weight/bias).
///
/// burn-store 0.22.1 transposes a `LinearLayout::Col` weight twice (its save mapper gives
/// `[out, in]`, then the adapter transposes that), so the file holds `[in, out]` under PyTorch's
/// name. The weights named in `col` are written back transposed: what PyTorch's twin holds.
pub fn export<M: Module>(module: &M, path: &Path, col: &[&str]) {
    let mut store = SafetensorsStore::from_file(path).with_to_adapter(BurnToPyTorchAdapter);
    module.save_into(&mut store).expect("burn-store writes the module");
    if col.is_empty() {
        return;
    }
    let mut all = tensors(path);
    for name in col {
        let (shape, bytes) = all.get_mut(*name).expect("a Col weight");
        let (rows, cols) = (shape[0], shape[1]);
        let words: Vec<u32> = bytemuck::pod_collect_to_vec(bytes);
        let mut t = vec![0u32; words.len()];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = words[r * cols + c];
            }
        }
        *shape = vec![cols, rows];
        *bytes = bytemuck::cast_slice(&t).to_vec();
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = all
        .iter()
        .map(|(name, (shape, bytes))| {
            (
                name.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes).expect("view"),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).expect("rewrite");
}

/// Every tensor of a safetensors file: name to (shape, bytes).
pub fn tensors(path: &Path) -> HashMap<String, (Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).expect("read the file");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("a safetensors file");
    file.tensors().into_iter().map(|(name, view)| (name, (view.shape().to_vec(), view.data().to_vec()))).collect()
}

/// `nninit init --like path --seed seed` on the CPU: every tensor's bytes by name.
pub fn like(path: &Path, seed: u64) -> HashMap<String, Vec<u8>> {
    let spec = spec_like(path).expect("nninit reads the export");
    let model = Model::new(&spec, seed, Dtype::F32).expect("resolved");
    let host = model.to_host_blocking(Backend::Cpu(&CpuBackend::new())).expect("filled");
    model.tensors.iter().map(|t| t.name.clone()).zip(host).collect()
}

/// Asserts that `exported` (burn's module, written by [`export`]) equals `nninit init --like`
/// of itself, tensor by tensor and byte for byte, and has the names `expected`.
pub fn assert_like(exported: &Path, seed: u64, expected: &[&str]) {
    let ours = tensors(exported);
    let mut names: Vec<&str> = ours.keys().map(String::as_str).collect();
    names.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(names, want, "the state_dict's names");
    let reference = like(exported, seed);
    for (name, (_, bytes)) in &ours {
        let other = &reference[name];
        let differ = bytes.chunks(4).zip(other.chunks(4)).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{name}: {differ} of {} values differ from nninit init --like", bytes.len() / 4);
        assert_eq!(bytes.len(), other.len(), "{name}: length");
    }
}
