//! Fill throughput, side by side in one run: the CPU backend, each GPU adapter, and the baselines
//! a user would otherwise pick (memset, a sequential `rand` `StdRng` fill, a GPU constant fill).
//!
//! `cargo bench --bench fill`; set `NNINIT_BENCH_MIB` to change the tensor size (default 64).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nninit::cpu::CpuBackend;
use nninit::gpu::{adapters, describe, FillTarget, GpuContext};
use nninit::prepared::Prepared;
use nninit::{Dtype, Fill, Init, Plan, Scheme, Stream};
use rand::{Rng, SeedableRng};

fn bytes() -> usize {
    std::env::var("NNINIT_BENCH_MIB").ok().and_then(|s| s.parse().ok()).unwrap_or(64) << 20
}

fn schemes() -> [(&'static str, Scheme); 3] {
    [
        ("uniform", Scheme::uniform(-0.1, 0.1).unwrap()),
        ("normal", Scheme::normal(0.0, 0.02).unwrap()),
        ("constant", Scheme::constant(0.5).unwrap()),
    ]
}

fn cpu(c: &mut Criterion) {
    let n = bytes() / 4;
    let mut out = vec![1f32; n];
    let mut group = c.benchmark_group(format!("cpu f32 {} MiB", bytes() >> 20));
    group.throughput(Throughput::Bytes(bytes() as u64)).sample_size(10);
    let backend = CpuBackend::new();
    for (name, scheme) in schemes() {
        let fill = Fill::new(&scheme, Stream::new(1, 0));
        group.bench_function(format!("nninit {name} ({} threads)", backend.threads()), |b| {
            b.iter(|| backend.fill_f32(black_box(&mut out), 0, &fill))
        });
    }
    // Half precision: the same element count, half the bytes.
    group.throughput(Throughput::Bytes(bytes() as u64 / 2));
    for dtype in [Dtype::F16, Dtype::Bf16] {
        let plan = Plan::new(&Init::uniform(-0.1, 0.1), &[n]).unwrap();
        let prepared = Prepared::new(&plan, Stream::new(1, 0)).unwrap();
        let mut half = vec![0u8; n * 2];
        group.bench_function(format!("nninit uniform {dtype:?}"), |b| {
            b.iter(|| backend.fill_prepared_as(black_box(&mut half), 0, &prepared, dtype).unwrap())
        });
    }
    group.throughput(Throughput::Bytes(bytes() as u64));
    let single = CpuBackend::with_threads(1);
    let fill = Fill::new(&schemes()[0].1, Stream::new(1, 0));
    group.bench_function("nninit uniform (1 thread)", |b| b.iter(|| single.fill_f32(black_box(&mut out), 0, &fill)));
    group.bench_function("baseline memset", |b| b.iter(|| black_box(&mut out[..]).fill(black_box(0.0))));
    group.bench_function("baseline rand StdRng uniform", |b| {
        b.iter(|| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            for x in black_box(&mut out[..]).iter_mut() {
                *x = rng.random_range(-0.1f32..0.1);
            }
        })
    });
    group.finish();
}

fn gpu(c: &mut Criterion) {
    for adapter in adapters() {
        let ctx = GpuContext::from_adapter(&adapter, adapter.limits()).expect("device");
        let size = (bytes() as u64).min(ctx.device.limits().max_buffer_size);
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bench"),
            size,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let target = FillTarget::whole(&buffer);
        let mut group = c.benchmark_group(format!("gpu f32 {} MiB {}", size >> 20, describe(&ctx.info)));
        group.throughput(Throughput::Bytes(size)).sample_size(10);
        for (name, scheme) in schemes() {
            let fill = Fill::new(&scheme, Stream::new(1, 0));
            group.bench_function(format!("nninit {name} (submit + wait)"), |b| {
                b.iter(|| ctx.filler.fill(&ctx.device, &ctx.queue, &target, &fill).unwrap())
            });
        }
        for dtype in [Dtype::F16, Dtype::Bf16] {
            let fill = Fill::new(&schemes()[0].1, Stream::new(1, 0));
            let target = FillTarget::whole_as(&buffer, dtype);
            group.bench_function(format!("nninit uniform {dtype:?} (submit + wait)"), |b| {
                b.iter(|| ctx.filler.fill(&ctx.device, &ctx.queue, &target, &fill).unwrap())
            });
        }
        group.finish();
    }
}

/// The schemes that are not element-wise, at the sizes.
fn structured(c: &mut Criterion) {
    let mut group = c.benchmark_group("structured");
    group.sample_size(10);
    let cpu = CpuBackend::new();
    for n in [512usize, 2048, 4096] {
        let plan = Plan::new(&Init::Orthogonal { gain: 1.0 }, &[n, n]).unwrap();
        let mut out = vec![0f32; n * n];
        group.bench_function(format!("orthogonal {n}x{n} (cpu)"), |b| {
            b.iter(|| cpu.init_f32(&mut out, 0, &plan, Stream::new(1, 0)).unwrap())
        });
    }
    let plan = Plan::new(&Init::Sparse { sparsity: 0.9, std: 0.01 }, &[4096, 4096]).unwrap();
    let mut out = vec![0f32; 4096 * 4096];
    group.bench_function("sparse 4096x4096 0.9 (cpu)", |b| {
        b.iter(|| cpu.init_f32(&mut out, 0, &plan, Stream::new(1, 0)).unwrap())
    });
    for adapter in adapters() {
        let ctx = GpuContext::from_adapter(&adapter, adapter.limits()).expect("device");
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bench sparse"),
            size: 4096 * 4096 * 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        group.bench_function(format!("sparse 4096x4096 0.9 ({})", describe(&ctx.info)), |b| {
            b.iter(|| {
                ctx.filler.init(&ctx.device, &ctx.queue, &FillTarget::whole(&buffer), &plan, Stream::new(1, 0)).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cpu, gpu, structured);
criterion_main!(benches);
