//! nninit against burn's own fills, side by side on the same adapter and device:
//! `cargo bench -p nninit-burn`.
//!
//! - `fill/*`: a 4096 x 4096 f32 tensor, uniform(0, 1) and normal(0, 0.02): burn's
//!   `Tensor::random` and nninit's fill into a burn tensor's own buffer;
//! - `model/*`: a 12-layer MLP of 1024 x 1024 Linear layers (12.6 M parameters), built lazy, then
//!   initialized: by burn's own initializers (each parameter materialized) and by nninit-burn.
//!
//! Every iteration waits until the GPU is done.

use std::time::Duration;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::wgpu::{WgpuBackend, WgpuSetup};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use nninit::gpu::{GpuFiller, GpuTarget};
use nninit::{Dtype, Fill, Region, Scheme, Stream};
use nninit_burn::{Initializer, Rules};

const N: usize = 4096;

#[derive(Module, Debug)]
struct Stack {
    layers: Vec<Linear>,
}

fn stack(device: &Device) -> Stack {
    Stack { layers: (0..12).map(|_| LinearConfig::new(1024, 1024).init(device)).collect() }
}

/// Materializes every parameter: burn's initializers run.
struct Touch;

impl ModuleVisitor for Touch {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

fn wait(setup: &WgpuSetup) {
    let _ = setup.device.poll(wgpu::PollType::wait_indefinitely());
}

fn adapter(c: &mut Criterion, name: &str, device: &Device, setup: &WgpuSetup) {
    let filler = GpuFiller::new_blocking(&setup.device, &setup.queue).expect("filler");
    let mut fills = c.benchmark_group(format!("fill/{name}"));
    fills.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    let target = Tensor::<2>::empty([N, N], device);
    let (buffer, offset) = nninit_burn::buffer_of(&target).expect("its buffer");
    for (label, distribution, scheme) in [
        ("uniform", Distribution::Uniform(0.0, 1.0), Scheme::uniform(0.0, 1.0).unwrap()),
        ("normal", Distribution::Normal(0.0, 0.02), Scheme::normal(0.0, 0.02).unwrap()),
    ] {
        fills.bench_function(format!("burn Tensor::random {label}"), |b| {
            b.iter(|| {
                let t = Tensor::<2>::random([N, N], distribution, device);
                let _ = nninit_burn::buffer_of(&t).expect("executed");
                wait(setup);
            })
        });
        let fill = Fill::new(&scheme, &[N, N], Stream::new(1, 0)).unwrap();
        fills.bench_function(format!("nninit {label}"), |b| {
            b.iter(|| {
                let mut encoder = setup.device.create_command_encoder(&Default::default());
                let t = GpuTarget { buffer: &buffer, byte_offset: offset, region: Region::All, dtype: Dtype::F32 };
                filler.record(&mut encoder, &fill, &t).unwrap();
                setup.queue.submit([encoder.finish()]);
                wait(setup);
            })
        });
    }
    fills.finish();

    let mut models = c.benchmark_group(format!("model/{name}"));
    models.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    models.bench_function("burn's initializers", |b| {
        b.iter(|| {
            let model = stack(device);
            model.visit(&mut Touch);
            device.sync().unwrap();
            wait(setup);
            model
        })
    });
    let init = Initializer::new(device, setup).expect("initializer");
    models.bench_function("nninit-burn pytorch", |b| {
        b.iter(|| {
            let mut model = stack(device);
            init.init(&mut model, 42, &Rules::pytorch()).unwrap();
            wait(setup);
            model
        })
    });
    models.finish();
}

fn benches(c: &mut Criterion) {
    for (name, api) in [("vulkan", WgpuBackend::Vulkan), ("gl", WgpuBackend::Gl)] {
        match Device::wgpu_options().graphics_api(api).init_with_setup() {
            Ok((device, setup)) => {
                eprintln!("{name}: {}", setup.adapter.get_info().name);
                adapter(c, name, &device, &setup);
            }
            Err(e) => eprintln!("{name}: no device ({e})"),
        }
    }
}

criterion_group!(group, benches);
criterion_main!(group);
