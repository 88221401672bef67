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
use nninit::gpu::{adapters_blocking, describe, GpuContext, GpuTarget};
use nninit::model::{presets, Backend, Model};
use nninit::{Dtype, Fill, Region, Scheme, Stream};
use rand::{Rng, SeedableRng};

fn sizes_mib() -> Vec<u64> {
    let text = std::env::var("NNINIT_BENCH_MIB").unwrap_or_else(|_| "1,16,256,1024".into());
    text.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

/// Every element-wise scheme (the Xavier and Kaiming schemes run the uniform and normal kernels
/// with other parameters; ones and zeros the constant one).
fn schemes() -> Vec<(&'static str, Scheme)> {
    vec![
        ("uniform", Scheme::uniform(-0.1, 0.1).unwrap()),
        ("normal", Scheme::normal(0.0, 0.02).unwrap()),
        ("trunc_normal", Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04).unwrap()),
        ("constant", Scheme::constant(0.5).unwrap()),
        ("ones", Scheme::ones()),
        ("zeros", Scheme::zeros()),
        ("eye", Scheme::eye()),
        ("dirac", Scheme::dirac(1).unwrap()),
        ("xavier_uniform", Scheme::xavier_uniform(1.0).unwrap()),
        ("xavier_normal", Scheme::xavier_normal(1.0).unwrap()),
        ("kaiming_uniform", Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu").unwrap()),
        ("kaiming_normal", Scheme::kaiming_normal(0.0, "fan_out", "relu").unwrap()),
    ]
}

/// A shape of at most `elements` elements the scheme accepts: 2-D rows of 1024, or for dirac
/// 4-D `[n, 16, 3, 3]`.
fn shape(init: &Scheme, elements: u64) -> Vec<usize> {
    let elements = elements as usize;
    match init.name() {
        "dirac" => vec![(elements / 144).max(1), 16, 3, 3],
        _ => {
            let cols = 1024.min(elements);
            vec![elements / cols, cols]
        }
    }
}

fn fill(init: &Scheme, elements: u64) -> (Fill, u64) {
    let fill = Fill::new(init, &shape(init, elements), Stream::new(1, 0)).expect("valid scheme");
    let elements = fill.elements().expect("a shaped fill");
    (fill, elements)
}

/// Submits what `record` records and waits for the GPU.
fn submit_and_wait(ctx: &GpuContext, record: impl FnOnce(&mut wgpu::CommandEncoder) -> nninit::Result<()>) {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    record(&mut encoder).unwrap();
    let index = ctx.queue.submit([encoder.finish()]);
    ctx.device.poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: None }).unwrap();
}

fn contexts() -> Vec<GpuContext> {
    adapters_blocking().iter().map(|a| GpuContext::from_adapter_blocking(a, a.limits()).expect("device")).collect()
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
                let (fill, elements) = fill(&init, bytes / dtype.size());
                let out = &mut out[..(elements * dtype.size()) as usize];
                group.bench_function(BenchmarkId::new(format!("nninit {dtype:?}"), name), |b| {
                    b.iter(|| backend.fill(&fill, &Region::All, dtype, black_box(&mut *out)).unwrap())
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
    for ctx in contexts() {
        for mib in sizes_mib() {
            let bytes = (mib << 20).min(ctx.device.limits().max_buffer_size);
            let usage = wgpu::BufferUsages::STORAGE;
            let buffer = pollster::block_on(nninit::gpu::create_buffer_checked(&ctx.device, "bench", bytes, usage))
                .expect("buffer");
            let mut group = c.benchmark_group(format!("gpu {mib} MiB {}", describe(&ctx.info)));
            group.throughput(Throughput::Bytes(bytes)).sample_size(10).measurement_time(Duration::from_secs(2));
            for dtype in [Dtype::F32, Dtype::Bf16] {
                for (name, init) in schemes() {
                    let (fill, _) = fill(&init, bytes / dtype.size());
                    let target = GpuTarget::new(&buffer, dtype);
                    let id = BenchmarkId::new(format!("nninit {dtype:?} (submit + wait)"), name);
                    group.bench_function(id, |b| {
                        b.iter(|| submit_and_wait(&ctx, |encoder| ctx.filler.record(encoder, &fill, &target)))
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
    // The host-side work (QR, mask) is part of making the fill, so it is timed with it.
    let make_and_fill = |scheme: &Scheme, n: usize, out: &mut [u8]| {
        let fill = Fill::new(scheme, &[n, n], Stream::new(1, 0)).unwrap();
        cpu.fill(&fill, &Region::All, Dtype::F32, out).unwrap()
    };
    for n in [512usize, 2048, 4096] {
        let mut out = vec![0u8; n * n * 4];
        let orthogonal = Scheme::orthogonal(1.0).unwrap();
        group.bench_function(format!("orthogonal {n}x{n} (cpu)"), |b| {
            b.iter(|| make_and_fill(&orthogonal, n, &mut out))
        });
    }
    let sparse = Scheme::sparse(0.9, 0.01).unwrap();
    let mut out = vec![0u8; 4096 * 4096 * 4];
    group.bench_function("sparse 4096x4096 0.9 (cpu)", |b| b.iter(|| make_and_fill(&sparse, 4096, &mut out)));
    for ctx in contexts() {
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bench sparse"),
            size: 4096 * 4096 * 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        group.bench_function(format!("sparse 4096x4096 0.9 ({})", describe(&ctx.info)), |b| {
            b.iter(|| {
                let fill = Fill::new(&sparse, &[4096, 4096], Stream::new(1, 0)).unwrap();
                submit_and_wait(&ctx, |encoder| ctx.filler.record(encoder, &fill, &GpuTarget::new(&buffer, Dtype::F32)))
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
    let contexts = contexts();
    let cpu = CpuBackend::new();
    for (spec, dtype) in cases {
        let plan = Model::new(&spec, 1, dtype).unwrap();
        let mut group = c.benchmark_group(format!("model {} {dtype:?}", spec.name));
        group.throughput(Throughput::Bytes(plan.bytes())).sample_size(10);
        let backends = std::iter::once(Backend::Cpu(&cpu))
            .chain(contexts.iter().map(|ctx| Backend::Gpu(&ctx.filler)))
            .collect::<Vec<_>>();
        for backend in backends {
            group.bench_function(backend.describe(), |b| {
                b.iter(|| {
                    let mut bytes = 0usize;
                    plan.produce_blocking(backend, Model::PIECE_BYTES, &mut |_, piece| {
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
