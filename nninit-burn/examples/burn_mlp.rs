//! A burn model initialized by nninit in place on burn's wgpu device, then one forward pass.
//!
//! `cargo run -p nninit-burn --example burn_mlp -- [auto|vulkan|gl|metal|dx12] [EXPORT_DIR]`
//!
//! With `EXPORT_DIR`, the model is also written there as PyTorch's state_dict
//! (`model.safetensors`, burn-store's PyTorch adapter) with the forward pass's output
//! (`output.json`): `scripts/check_burn.py` loads both into PyTorch's twin of the model.
//!
//! The checksum is the same on every adapter and on the CPU: the weights are PyTorch's values
//! for seed 42, whatever the device (the forward pass itself rounds as each device does).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::tensor::wgpu::WgpuBackend;
use burn::tensor::{Device, Tensor};
use nninit_burn::{Initializer, Rules};

#[derive(Module, Debug)]
struct Mlp {
    fc1: Linear,
    act: Relu,
    fc2: Linear,
}

impl Mlp {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(self.act.forward(self.fc1.forward(x)))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api = match std::env::args().nth(1).as_deref().unwrap_or("auto") {
        "auto" => WgpuBackend::Auto,
        "vulkan" => WgpuBackend::Vulkan,
        "gl" => WgpuBackend::Gl,
        "metal" => WgpuBackend::Metal,
        "dx12" => WgpuBackend::Dx12,
        other => return Err(format!("unknown graphics API {other}: auto, vulkan, gl, metal or dx12").into()),
    };
    let (device, setup) = Device::wgpu_options().graphics_api(api).init_with_setup()?;
    println!("device: {} ({:?})", setup.adapter.get_info().name, setup.backend);

    // burn's parameters are lazy: nninit fills them in their own buffers, burn's initializer never runs.
    let mut model = Mlp {
        fc1: LinearConfig::new(784, 256).init(&device),
        act: Relu::new(),
        fc2: LinearConfig::new(256, 10).init(&device),
    };
    Initializer::new(&device, &setup)?.init(&mut model, 42, &Rules::pytorch())?;

    let weights: f64 = model.fc1.weight.val().sum().into_scalar::<f64>();
    let input = Tensor::<2>::ones([4, 784], &device) * 0.5;
    let output = model.forward(input);
    let checksum: f64 = output.clone().abs().sum().into_scalar::<f64>();
    println!("sum of fc1.weight: {weights:.6}");
    println!("output {:?}, sum of |output|: {checksum:.6}", output.dims());
    if let Some(dir) = std::env::args().nth(2) {
        use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
        let dir = std::path::Path::new(&dir);
        let mut store =
            SafetensorsStore::from_file(dir.join("model.safetensors")).with_to_adapter(BurnToPyTorchAdapter);
        model.save_into(&mut store)?;
        let values = output.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        let json = format!("{{\"input\": 0.5, \"shape\": [4, 784], \"output\": {values:?}}}");
        std::fs::write(dir.join("output.json"), json)?;
        println!("wrote {}", dir.display());
    }
    Ok(())
}
