//! An inference engine's view of nninit: the engine owns its wgpu instance, adapter, device and
//! queue; nninit records a model's initialization into the engine's own `CommandEncoder`, into
//! one weight arena, and the engine's forward pass reads the weights in place in the same
//! submission. No weight crosses to the host before the forward pass; the output is then checked
//! against the same model made and evaluated on the CPU.
//!
//! The model is a two-layer MLP with PyTorch's `nn.Linear` initialization, its tensors named as
//! in a `state_dict`, so each draws from its name's stream: the arena holds, bit for bit, what
//! `nninit init --model mlp.json --seed 2024` writes (`--print-spec` shows that spec; the test
//! `tests/engine.rs` checks it on every adapter).
//!
//! `cargo run --release --example engine [ADAPTER]` (ADAPTER: text in the adapter's name or
//! backend, e.g. `gl`; the first adapter found by default)

use nninit::cpu::CpuBackend;
use nninit::gpu::{read_buffer_blocking, GpuFiller};
use nninit::model::{presets, ArenaLayout, Backend, LayerKind, Model, ModelSpec, TensorSpec, TensorTarget};
use nninit::{Dtype, Scheme};
use wgpu::util::DeviceExt;

/// Layer parameters, as `Layer` in engine_forward.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LayerParams {
    w: u32,
    b: u32,
    rows: u32,
    cols: u32,
    relu: u32,
    pad: [u32; 3],
}

/// Input features.
pub const INPUT: usize = 48;
/// Hidden units.
pub const HIDDEN: usize = 96;
/// Outputs.
pub const OUTPUT: usize = 10;
/// The seed.
pub const SEED: u64 = 2024;

/// The MLP as a model spec: `fc1` and `fc2` as `nn.Linear` makes them (weights
/// `kaiming_uniform(a=sqrt(5))` by the preset's rule, biases `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`).
pub fn mlp_spec() -> nninit::Result<ModelSpec> {
    let mut tensors = Vec::new();
    for (name, cin, cout) in [("fc1", INPUT, HIDDEN), ("fc2", HIDDEN, OUTPUT)] {
        tensors.push(TensorSpec::new(format!("{name}.weight"), &[cout, cin], LayerKind::Linear));
        let bound = 1.0 / (cin as f64).sqrt();
        let mut bias = TensorSpec::new(format!("{name}.bias"), &[cout], LayerKind::Linear);
        bias.scheme = Some(Scheme::uniform(-bound, bound)?);
        tensors.push(bias);
    }
    Ok(ModelSpec { name: "mlp".into(), tensors, rules: presets::linear_default_rules() })
}

/// What the engine computed on one adapter.
pub struct EngineRun {
    /// The adapter, in words.
    pub adapter: String,
    /// The arena's bytes of each tensor, in model order, read back after the forward pass.
    pub weights: Vec<Vec<u8>>,
    /// The forward pass's output.
    pub output: Vec<f32>,
}

/// The engine's own device on `adapter`: nninit is told nothing but the device and queue.
pub fn run_on(adapter: &wgpu::Adapter, input: &[f32]) -> nninit::Result<EngineRun> {
    // The engine asks for SHADER_INT64 where the adapter has it (nninit then uses the native
    // 64-bit multiply; without it, its exact emulation).
    let features = adapter.features() & wgpu::Features::SHADER_INT64;
    let descriptor = wgpu::DeviceDescriptor { required_features: features, ..Default::default() };
    let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
        .map_err(|e| nninit::Error::Gpu(format!("requesting a device: {e}")))?;
    let filler = GpuFiller::new_blocking(&device, &queue)?;

    let model = Model::new(&mlp_spec()?, SEED, Dtype::F32)?;
    // Offsets aligned to the storage offset alignment, so each tensor could also be bound alone.
    let layout = model.arena_layout(u64::from(device.limits().min_storage_buffer_offset_alignment));
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let arena = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("weight arena"),
        size: layout.size,
        usage,
        mapped_at_creation: false,
    });
    let x = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("input"),
        contents: bytemuck::cast_slice(input),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let storage = |label, floats: usize, usage| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (floats * 4) as u64,
            usage,
            mapped_at_creation: false,
        })
    };
    let hidden = storage("hidden", HIDDEN, wgpu::BufferUsages::STORAGE);
    let output = storage("output", OUTPUT, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);

    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("forward"),
        source: wgpu::ShaderSource::Wgsl(include_str!("engine_forward.wgsl").into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("forward"),
        layout: None,
        module: &module,
        entry_point: Some("forward"),
        compilation_options: Default::default(),
        cache: None,
    });
    let element = |tensor: usize| (layout.offsets[tensor] / 4) as u32;
    let layer = |w: usize, relu: bool, input: &wgpu::Buffer, out: &wgpu::Buffer| {
        let shape = model.tensors[w].shape();
        let params = LayerParams {
            w: element(w),
            b: element(w + 1),
            rows: shape[0] as u32,
            cols: shape[1] as u32,
            relu: u32::from(relu),
            pad: [0; 3],
        };
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("layer"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("layer"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: arena.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: input.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: out.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: uniform.as_entire_binding() },
            ],
        })
    };
    let layer1 = layer(0, true, &x, &hidden);
    let layer2 = layer(2, false, &hidden, &output);

    // One encoder: every initialization, then the forward pass; one submit.
    let mut encoder = device.create_command_encoder(&Default::default());
    let targets: Vec<TensorTarget<'_>> =
        layout.offsets.iter().map(|&byte_offset| TensorTarget { buffer: &arena, byte_offset }).collect();
    model.record_into(&filler, &mut encoder, &targets)?;
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &layer1, &[]);
        pass.dispatch_workgroups((HIDDEN as u32).div_ceil(64), 1, 1);
        pass.set_bind_group(0, &layer2, &[]);
        pass.dispatch_workgroups((OUTPUT as u32).div_ceil(64), 1, 1);
    }
    queue.submit([encoder.finish()]);
    let out = read_buffer_blocking(&device, &queue, &output, 0..(OUTPUT * 4) as u64)?;
    let weights = arena_tensors(&model, &layout, &read_buffer_blocking(&device, &queue, &arena, 0..layout.size)?);
    let info = adapter.get_info();
    Ok(EngineRun { adapter: nninit::gpu::describe(&info), weights, output: bytemuck::pod_collect_to_vec(&out) })
}

/// Each tensor's bytes cut from the arena.
fn arena_tensors(model: &Model, layout: &ArenaLayout, arena: &[u8]) -> Vec<Vec<u8>> {
    let offsets = layout.offsets.iter().map(|&o| o as usize);
    offsets.zip(&model.tensors).map(|(at, t)| arena[at..at + t.bytes() as usize].to_vec()).collect()
}

/// The same model made by nninit's CPU backend and evaluated on the CPU with the same
/// arithmetic as the shader.
pub fn cpu_forward(input: &[f32]) -> nninit::Result<Vec<f32>> {
    let model = Model::new(&mlp_spec()?, SEED, Dtype::F32)?;
    let weights: Vec<Vec<f32>> = model
        .to_host_blocking(Backend::Cpu(&CpuBackend::new()))?
        .iter()
        .map(|bytes| bytemuck::pod_collect_to_vec(bytes))
        .collect();
    let dense = |w: &[f32], b: &[f32], x: &[f32], relu: bool| -> Vec<f32> {
        b.iter()
            .enumerate()
            .map(|(r, &bias)| {
                let acc = x.iter().enumerate().fold(bias, |acc, (c, &xc)| acc + w[r * x.len() + c] * xc);
                if relu {
                    acc.max(0.0)
                } else {
                    acc
                }
            })
            .collect()
    };
    let h = dense(&weights[0], &weights[1], input, true);
    Ok(dense(&weights[2], &weights[3], &h, false))
}

/// The example's input vector.
pub fn input() -> Vec<f32> {
    (0..INPUT).map(|i| ((i as f32) * 0.37).sin()).collect()
}

/// The engine's own instance and adapters, on the backends this build has.
pub fn engine_adapters() -> Vec<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

#[allow(dead_code)]
fn main() -> nninit::Result<()> {
    let pattern = std::env::args().nth(1).map(|p| p.to_lowercase());
    let adapter = engine_adapters()
        .into_iter()
        .find(|a| {
            let info = a.get_info();
            pattern.as_ref().is_none_or(|p| {
                info.name.to_lowercase().contains(p) || format!("{:?}", info.backend).to_lowercase().contains(p)
            })
        })
        .ok_or_else(|| nninit::Error::NoAdapter(format!("none matches {pattern:?}")))?;
    let input = input();
    let run = run_on(&adapter, &input)?;
    println!("adapter: {}", run.adapter);
    let cpu_out = cpu_forward(&input)?;
    let worst = run.output.iter().zip(&cpu_out).map(|(g, c)| (g - c).abs()).fold(0f32, f32::max);
    println!("gpu output: {:?}", run.output);
    println!("cpu output: {cpu_out:?}");
    println!("largest difference: {worst:e}");
    if worst > 1e-4 {
        eprintln!("error: the GPU forward pass differs from the CPU by {worst:e}");
        std::process::exit(1);
    }
    println!("ok: the forward pass over GPU-born weights matches the CPU");
    Ok(())
}
