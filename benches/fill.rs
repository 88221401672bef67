//! Criterion benchmarks, side by side in one run: every element-wise scheme on the CPU backend
//! and on each GPU adapter, in f32 and bf16, at sizes from 1 MiB to 1 GiB, next to the baselines
//! a user would otherwise pick (memset, a sequential `rand` `StdRng` fill, a GPU constant fill);
//! orthogonal at 512, 2048 and 4096; sparse at 4096 x 4096; whole models (ResNet-50, and the 1B
//! transformer in bf16) made on each backend.
//!
//! `cargo bench --bench fill`; `NNINIT_BENCH_MIB=1,16,256,1024` sets the sizes (that is the
//! default), `NNINIT_BENCH_MODELS=0` skips the whole-model group. `nninit bench` is the quick,
//! one-table version of the same comparison.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nninit::cpu::CpuBackend;
use nninit::gpu::{adapters, describe, FillTarget, GpuContext};
use nninit::model::{presets, Backend, ModelPlan};
use nninit::prepared::Prepared;
use nninit::{Dtype, Init, Plan, Stream};
use rand::{Rng, SeedableRng};

fn sizes_mib() -> Vec<u64> {
    let text = std::env::var("NNINIT_BENCH_MIB").unwrap_or_else(|_| "1,16,256,1024".into());
    text.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

/// Every element-wise scheme (the Xavier and Kaiming schemes run the uniform and normal kernels
/// with other parameters; ones and zeros the constant one).
fn schemes() -> Vec<(&'static str, Init)> {
    vec![
        ("uniform", Init::uniform(-0.1, 0.1)),
        ("normal", Init::normal(0.0, 0.02)),
        ("trunc_normal", Init::trunc_normal(0.0, 0.02, -0.04, 0.04)),
        ("constant", Init::Constant { val: 0.5 }),
        ("ones", Init::Ones),
        ("zeros", Init::Zeros),
        ("eye", Init::Eye),
        ("dirac", Init::Dirac { groups: 1 }),
        ("xavier_uniform", Init::xavier_uniform(1.0)),
        ("xavier_normal", Init::xavier_normal(1.0)),
        ("kaiming_uniform", Init::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu")),
        ("kaiming_normal", Init::kaiming_normal(0.0, "fan_out", "relu")),
    ]
}

/// A shape of at most `elements` elements the scheme accepts: 2-D rows of 1024, or for dirac
/// 4-D `[n, 16, 3, 3]`.
fn shape(init: &Init, elements: u64) -> Vec<usize> {
    let elements = elements as usize;
    match init {
        Init::Dirac { .. } => vec![(elements / 144).max(1), 16, 3, 3],
        _ => {
            let cols = 1024.min(elements);
            vec![elements / cols, cols]
        }
    }
}

fn prepared(init: &Init, elements: u64) -> (Prepared, u64) {
    let plan = Plan::new(init, &shape(init, elements)).expect("valid scheme");
    (Prepared::new(&plan, Stream::new(1, 0)).expect("prepared"), plan.elements())
}

fn cpu(c: &mut Criterion) {
    let backend = CpuBackend::new();
    for mib in sizes_mib() {
        let bytes = mib << 20;
        let mut out = vec![1u8; bytes as usize];
        let mut group = c.benchmark_group(format!("cpu {mib} MiB"));
        group.throughput(Throughput::Bytes(bytes)).sample_size(10).measurement_time(Duration::from_secs(2));
        for dtype in [Dtype::F32, Dtype::Bf16] {
            for (name, init) in schemes() {
                let (prepared, elements) = prepared(&init, bytes / dtype.size());
                let out = &mut out[..(elements * dtype.size()) as usize];
                group.bench_function(BenchmarkId::new(format!("nninit {dtype:?}"), name), |b| {
                    b.iter(|| backend.fill_prepared_as(black_box(&mut *out), 0, &prepared, dtype).unwrap())
                });
            }
        }
        group.bench_function("baseline memset", |b| b.iter(|| black_box(&mut out[..]).fill(black_box(0x3f))));
        let floats: &mut [f32] = bytemuck::cast_slice_mut(&mut out);
        group.bench_function("baseline rand StdRng uniform f32", |b| {
            let uniform = rand::distr::Uniform::new(-0.1f32, 0.1).unwrap();
            b.iter(|| {
                let mut rng = rand::rngs::StdRng::seed_from_u64(1);
                black_box(&mut *floats).iter_mut().for_each(|x| *x = rng.sample(uniform));
            })
        });
        group.bench_function("baseline rand_distr Normal f32", |b| {
            let normal = rand_distr::Normal::new(0.0f32, 0.02).unwrap();
            b.iter(|| {
                let mut rng = rand::rngs::StdRng::seed_from_u64(1);
                black_box(&mut *floats).iter_mut().for_each(|x| *x = rng.sample(normal));
            })
        });
        group.finish();
    }
}

fn gpu(c: &mut Criterion) {
    for adapter in adapters() {
        let ctx = GpuContext::from_adapter(&adapter, adapter.limits()).expect("device");
        for mib in sizes_mib() {
            let bytes = (mib << 20).min(ctx.device.limits().max_buffer_size);
            let usage = wgpu::BufferUsages::STORAGE;
            let buffer = nninit::gpu::create_buffer_checked(&ctx.device, "bench", bytes, usage).expect("buffer");
            let mut group = c.benchmark_group(format!("gpu {mib} MiB {}", describe(&ctx.info)));
            group.throughput(Throughput::Bytes(bytes)).sample_size(10).measurement_time(Duration::from_secs(2));
            for dtype in [Dtype::F32, Dtype::Bf16] {
                for (name, init) in schemes() {
                    let (prepared, elements) = prepared(&init, bytes / dtype.size());
                    let target = FillTarget { buffer: &buffer, byte_offset: 0, elements: 0..elements, dtype };
                    let id = BenchmarkId::new(format!("nninit {dtype:?} (submit + wait)"), name);
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            nninit::gpu::submit_and_wait(&ctx.device, &ctx.queue, |encoder| {
                                ctx.filler.record_prepared(&ctx.device, encoder, &target, &prepared)
                            })
                            .unwrap()
                        })
                    });
                }
            }
            group.finish();
        }
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

/// Whole models made on each backend and handed to a sink that only counts (no disk).
fn models(c: &mut Criterion) {
    if std::env::var("NNINIT_BENCH_MODELS").is_ok_and(|v| v == "0") {
        return;
    }
    let cases = [(presets::resnet50(), Dtype::F32), (presets::preset("transformer-1b", None).unwrap(), Dtype::Bf16)];
    let contexts: Vec<GpuContext> =
        adapters().iter().map(|a| GpuContext::from_adapter(a, a.limits()).expect("device")).collect();
    let cpu = CpuBackend::new();
    for (spec, dtype) in cases {
        let plan = ModelPlan::new(&spec, 1, dtype).unwrap();
        let mut group = c.benchmark_group(format!("model {} {dtype:?}", spec.name));
        group.throughput(Throughput::Bytes(plan.bytes())).sample_size(10);
        let backends = std::iter::once(Backend::Cpu(&cpu)).chain(contexts.iter().map(Backend::Gpu)).collect::<Vec<_>>();
        for backend in backends {
            group.bench_function(backend.describe(), |b| {
                b.iter(|| {
                    let mut bytes = 0usize;
                    plan.produce(backend, &mut |_, piece| {
                        bytes += black_box(piece).len();
                        Ok(())
                    })
                    .unwrap();
                    bytes
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, cpu, gpu, structured, models);
criterion_main!(benches);
