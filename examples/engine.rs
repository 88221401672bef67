//! An inference engine's view of nninit: one weight arena on the GPU, every initialization
//! recorded into the same `CommandEncoder` as the engine's own forward pass, which reads the
//! weights in place. No weight crosses to the host before the forward pass; the output is then
//! checked against the same model initialized and evaluated on the CPU.
//!
//! `cargo run --release --example engine [ADAPTER]` (ADAPTER: text in the adapter's name or
//! backend, e.g. `gl`; the best adapter by default)

use nninit::cpu::CpuBackend;
use nninit::gpu::{create_buffer_checked, read_buffer, FillTarget, GpuContext};
use nninit::{Dtype, Init, Plan, Stream};
use wgpu::util::DeviceExt;

/// One tensor of the model and where it lives in the arena.
struct Tensor {
    name: &'static str,
    plan: Plan,
    /// Offset in f32 elements.
    offset: u64,
}

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

const INPUT: usize = 48;
const HIDDEN: usize = 96;
const OUTPUT: usize = 10;
const SEED: u64 = 2024;

fn main() -> nninit::Result<()> {
    let gpu = match std::env::args().nth(1) {
        Some(pattern) => GpuContext::matching(&pattern)?,
        None => GpuContext::new()?,
    };
    println!("adapter: {}", nninit::gpu::describe(&gpu.info));

    // The model: a two-layer MLP with PyTorch's Linear initialization for the biases.
    let specs: [(&str, Init, Vec<usize>); 4] = [
        ("fc1.weight", Init::kaiming_uniform(0.0, "fan_in", "relu"), vec![HIDDEN, INPUT]),
        ("fc1.bias", Init::uniform(-1.0 / (INPUT as f64).sqrt(), 1.0 / (INPUT as f64).sqrt()), vec![HIDDEN]),
        ("fc2.weight", Init::xavier_normal(1.0), vec![OUTPUT, HIDDEN]),
        ("fc2.bias", Init::uniform(-1.0 / (HIDDEN as f64).sqrt(), 1.0 / (HIDDEN as f64).sqrt()), vec![OUTPUT]),
    ];
    let mut tensors = Vec::new();
    let mut offset = 0u64;
    for (name, init, shape) in specs {
        let plan = Plan::new(&init, &shape)?;
        let elements = plan.elements();
        tensors.push(Tensor { name, plan, offset });
        offset = (offset + elements).next_multiple_of(64);
    }
    let arena = create_buffer_checked(&gpu.device, "weight arena", offset * 4, wgpu::BufferUsages::STORAGE)?;

    let input: Vec<f32> = (0..INPUT).map(|i| ((i as f32) * 0.37).sin()).collect();
    let x = gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("input"),
        contents: bytemuck::cast_slice(&input),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let hidden = create_buffer_checked(&gpu.device, "hidden", (HIDDEN * 4) as u64, wgpu::BufferUsages::STORAGE)?;
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let output = create_buffer_checked(&gpu.device, "output", (OUTPUT * 4) as u64, usage)?;

    let module = gpu.device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("forward"),
        source: wgpu::ShaderSource::Wgsl(include_str!("engine_forward.wgsl").into()),
    });
    let pipeline = gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("forward"),
        layout: None,
        module: &module,
        entry_point: Some("forward"),
        compilation_options: Default::default(),
        cache: None,
    });
    let layer = |w: &Tensor, b: &Tensor, relu: bool, input: &wgpu::Buffer, out: &wgpu::Buffer| {
        let params = LayerParams {
            w: w.offset as u32,
            b: b.offset as u32,
            rows: w.plan.shape[0] as u32,
            cols: w.plan.shape[1] as u32,
            relu: u32::from(relu),
            pad: [0; 3],
        };
        let uniform = gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("layer"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
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
    let layer1 = layer(&tensors[0], &tensors[1], true, &x, &hidden);
    let layer2 = layer(&tensors[2], &tensors[3], false, &hidden, &output);

    // One encoder: every initialization, then the forward pass; one submit.
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    for (stream, t) in tensors.iter().enumerate() {
        let target =
            FillTarget { buffer: &arena, byte_offset: t.offset * 4, elements: 0..t.plan.elements(), dtype: Dtype::F32 };
        gpu.filler.record_init(&gpu.device, &mut encoder, &target, &t.plan, Stream::new(SEED, stream as u64))?;
    }
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &layer1, &[]);
        pass.dispatch_workgroups((HIDDEN as u32).div_ceil(64), 1, 1);
        pass.set_bind_group(0, &layer2, &[]);
        pass.dispatch_workgroups((OUTPUT as u32).div_ceil(64), 1, 1);
    }
    gpu.queue.submit([encoder.finish()]);
    let bytes = read_buffer(&gpu.device, &gpu.queue, &output, 0..(OUTPUT * 4) as u64)?;
    let gpu_out: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);

    // The same model on the CPU: same plans, same streams, same arithmetic.
    let cpu = CpuBackend::new();
    let weights: Vec<Vec<f32>> = tensors
        .iter()
        .enumerate()
        .map(|(stream, t)| {
            let mut w = vec![0f32; t.plan.elements() as usize];
            cpu.init_f32(&mut w, 0, &t.plan, Stream::new(SEED, stream as u64)).map(|()| w)
        })
        .collect::<nninit::Result<_>>()?;
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
    let h = dense(&weights[0], &weights[1], &input, true);
    let cpu_out = dense(&weights[2], &weights[3], &h, false);

    let worst = gpu_out.iter().zip(&cpu_out).map(|(g, c)| (g - c).abs()).fold(0f32, f32::max);
    for t in &tensors {
        println!("{:<11} {:?} at element {}", t.name, t.plan.shape, t.offset);
    }
    println!("gpu output: {gpu_out:?}");
    println!("cpu output: {cpu_out:?}");
    println!("largest difference: {worst:e}");
    if worst > 1e-4 {
        eprintln!("error: the GPU forward pass differs from the CPU by {worst:e}");
        std::process::exit(1);
    }
    println!("ok: the forward pass over GPU-born weights matches the CPU");
    Ok(())
}
