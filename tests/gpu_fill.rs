//! The GPU engine against the CPU backend, on every adapter found: bit-identity of raw words and
//! uniform values, the stated bound for normal values, guard bytes, windows and 2-D dispatches.

mod common;

use common::{contexts, cpu_words, fill_guarded, fill_guarded_as, fill_guarded_by, flat, record_and_wait};
use nninit::gpu::{FillerOptions, GpuContext, GpuFiller, GpuTarget, Multiply};
use nninit::{Dtype, Error, Fill, Region, Scheme, Stream};
use wgpu::util::DeviceExt as _;

/// (first element, count, word offset in the buffer, words after): odd offsets and lengths,
/// a carry into the counter's high word, and a huge element index.
const RANGES: &[(u64, usize, usize, usize)] = &[
    (0, 1, 0, 0),
    (0, 4096, 0, 3),
    (1, 3, 1, 1),
    (3, 1001, 7, 5),
    (5, 65_537, 65, 2),
    (4 * (u32::MAX as u64 - 40) + 2, 1003, 3, 3),
    ((1 << 60) + 1, 333, 0, 1),
];

const STREAMS: &[Stream] = &[
    Stream::new(0, 0),
    Stream::new(42, 7),
    Stream::new(u64::MAX, u64::MAX),
    Stream::new(0x1234_5678_9abc_def0, 1 << 33),
];

#[test]
fn raw_words_are_bit_identical_to_the_cpu() {
    for ctx in contexts() {
        for &stream in STREAMS {
            for &(first, count, at, tail) in RANGES {
                let fill = Fill::raw_words(stream);
                let gpu = fill_guarded(ctx, &fill, first, count, at, tail);
                assert!(
                    gpu == cpu_words(&fill, first, count),
                    "{:?} {stream:?} first {first} count {count}",
                    ctx.info.backend
                );
            }
        }
    }
}

#[test]
fn uniform_values_are_bit_identical_to_the_cpu() {
    let schemes =
        [Scheme::uniform(0.0, 1.0).unwrap(), Scheme::uniform(-0.3, 0.7).unwrap(), Scheme::uniform(-1e-3, 5e4).unwrap()];
    for ctx in contexts() {
        for scheme in &schemes {
            for &stream in &STREAMS[..2] {
                for &(first, count, at, tail) in RANGES {
                    let fill = flat(scheme, stream);
                    let gpu = fill_guarded(ctx, &fill, first, count, at, tail);
                    let cpu = cpu_words(&fill, first, count);
                    let diff = gpu.iter().zip(&cpu).position(|(g, c)| g != c);
                    assert!(
                        diff.is_none(),
                        "{:?} {scheme:?} first {first}: element {diff:?} differs",
                        ctx.info.backend
                    );
                }
            }
        }
    }
}

/// Normal-derived values are bit-identical to the CPU's on every adapter: products kept out of FMA
/// contraction, divisions and square roots correctly rounded (see the table in docs/contract.md). Many seeds
/// and streams, odd offsets, indices above 2^33, tiny and huge std, narrow intervals and
/// one-sided far tails, written as f32, f16 and bf16 at odd element offsets.
#[test]
fn normal_derived_values_are_bit_identical_to_the_cpu() {
    let schemes = [
        Scheme::normal(0.0, 1.0).unwrap(),
        Scheme::normal(0.5, 0.02).unwrap(),
        Scheme::normal(-3.0, 7.5).unwrap(),
        Scheme::normal(1e-3, 1e-30).unwrap(),
        Scheme::normal(-1e30, 3e35).unwrap(),
        Scheme::trunc_normal(0.0, 1.0, -2.0, 2.0).unwrap(),
        Scheme::trunc_normal(0.0, 0.02, -2.0, 2.0).unwrap(),
        Scheme::trunc_normal(0.0, 1e-4, -2.0, 2.0).unwrap(),
        Scheme::trunc_normal(0.0, 1.0, 5.0, f64::INFINITY).unwrap(),
        Scheme::trunc_normal(1.0, 2.0, f64::NEG_INFINITY, -20.0).unwrap(),
        Scheme::trunc_normal(3.0, 2.0, 2.999, 3.001).unwrap(),
        Scheme::trunc_normal(0.0, 1.0, -30.0, -29.0).unwrap(),
    ];
    let ranges = [(3u64, 4_003usize), ((1u64 << 33) + 1, 2_001), (u64::MAX / 2 - 7, 1_001)];
    let mut compared = 0usize;
    for ctx in contexts() {
        let name = nninit::gpu::describe(&ctx.info);
        for (i, scheme) in schemes.iter().enumerate() {
            let stream = Stream::new(99 + 1000 * i as u64, [0, 3, u64::MAX][i % 3]);
            let fill = flat(scheme, stream);
            for &(first, count) in &ranges {
                let gpu = fill_guarded(ctx, &fill, first, count, 1, 1);
                let cpu = cpu_words(&fill, first, count);
                let differ = gpu.iter().zip(&cpu).position(|(g, c)| g != c);
                assert!(
                    differ.is_none(),
                    "{name} {scheme:?} first {first}: element {} is {} on the GPU, {} on the CPU",
                    first + differ.unwrap_or(0) as u64,
                    f32::from_bits(gpu[differ.unwrap_or(0)]),
                    f32::from_bits(cpu[differ.unwrap_or(0)])
                );
                compared += count;
                for dtype in [Dtype::F16, Dtype::Bf16] {
                    let gpu = fill_guarded_as(ctx, &fill, dtype, first, count, 1, 3);
                    let mut cpu = vec![0u8; gpu.len()];
                    let region = Region::Elements(first..first + count as u64);
                    nninit::cpu::CpuBackend::new().fill(&fill, &region, dtype, &mut cpu).unwrap();
                    assert!(gpu == cpu, "{name} {scheme:?} {dtype:?} first {first} differs");
                }
            }
        }
    }
    eprintln!("{compared} normal-derived f32 values compared, every one bit-identical");
}

/// The values never depend on the workgroup size (the stream contract): fillers of 1, 7 and 96
/// invocations a workgroup write the CPU's bits for uniform, normal and trunc_normal, as f32 and
/// bf16, from an odd element at an odd offset, guards intact. With 1 invocation a workgroup, the
/// 67,501 workgroups of an f32 fill are dispatched in 2-D.
#[test]
fn values_do_not_depend_on_the_workgroup_size() {
    let schemes = [
        Scheme::uniform(-0.3, 0.7).unwrap(),
        Scheme::normal(0.5, 0.02).unwrap(),
        Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04).unwrap(),
    ];
    let (first, count) = (5u64, 270_003usize);
    for ctx in contexts() {
        let name = nninit::gpu::describe(&ctx.info);
        for size in [1u32, 7, 96] {
            let options = FillerOptions { workgroup_size: Some(size), ..Default::default() };
            let filler = pollster::block_on(GpuFiller::with_options(&ctx.device, &ctx.queue, options)).unwrap();
            assert_eq!((filler.workgroup_size(), filler.multiply()), (size, ctx.filler.multiply()));
            for (i, scheme) in schemes.iter().enumerate() {
                let fill = flat(scheme, Stream::new(11 + i as u64, 3));
                for dtype in [Dtype::F32, Dtype::Bf16] {
                    let gpu = fill_guarded_by(ctx, &filler, &fill, dtype, first, count, 3, 1);
                    let mut cpu = vec![0u8; gpu.len()];
                    let region = Region::Elements(first..first + count as u64);
                    nninit::cpu::CpuBackend::new().fill(&fill, &region, dtype, &mut cpu).unwrap();
                    assert!(gpu == cpu, "{name} workgroup {size} {scheme:?} {dtype:?} differs from the CPU");
                }
            }
        }
    }
}

#[test]
fn workgroup_sizes_outside_the_device_limits_are_errors() {
    for ctx in contexts() {
        let limits = ctx.device.limits();
        let most = limits.max_compute_invocations_per_workgroup.min(limits.max_compute_workgroup_size_x);
        let with = |size| {
            let options = FillerOptions { workgroup_size: Some(size), ..Default::default() };
            pollster::block_on(GpuFiller::with_options(&ctx.device, &ctx.queue, options))
        };
        assert!(matches!(with(0), Err(Error::InvalidParameter(_))));
        let err = with(most + 1).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded(_)), "{err}");
        assert!(err.to_string().contains("max_compute_invocations_per_workgroup"), "{err}");
        assert_eq!(ctx.filler.workgroup_size(), nninit::gpu::DEFAULT_WORKGROUP_SIZE.min(most));
    }
}

/// The correction of lib/mathf.wgsl to a correctly rounded `/` and `sqrt`, run on each adapter
/// from estimates off by up to 60 ulp. The software adapters round both correctly themselves, so
/// the value tests above never exercise it; this does, as a GPU with a 2.5-ulp division would.
/// Operands over most of f32's exponents (results stay normal), significand edges and quotients
/// a hair from a midpoint included.
#[test]
fn division_and_sqrt_are_corrected_from_wrong_estimates_on_every_adapter() {
    const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/rounding_check.wgsl"));
    const OFF_BY: [i32; 13] = [-60, -41, -17, -3, -2, -1, 0, 1, 2, 3, 9, 33, 60];
    let nudge = |x: f32, k: i32| f32::from_bits(x.to_bits().wrapping_add_signed(k));
    let source = Stream::new(7, 3);
    let mut cases: Vec<[u32; 4]> = Vec::new();
    for i in 0..40_000u64 {
        let w = source.block(i);
        let any = |w: u32| f32::from_bits(0x2800_0000 + w % 0x2f00_0000);
        let edge =
            |w: u32| f32::from_bits(((w >> 24) % 90 + 90) << 23 | [0, 0x7f_ffff, 1, 0x7f_fffe][(w & 3) as usize]);
        let (a, b) = match i % 3 {
            0 => (any(w[0]), any(w[1])),
            1 => (edge(w[0]), any(w[1])),
            _ => (any(w[0]), edge(w[1])),
        };
        let (k, l) = (OFF_BY[(w[2] % 13) as usize], OFF_BY[(w[3] % 13) as usize]);
        cases.push([a.to_bits(), b.to_bits(), nudge(a / b, k).to_bits(), nudge(a.sqrt(), l).to_bits()]);
        // Quotients a hair from a midpoint, where the f32 estimate of the distance to the right
        // significand cannot tell the side: m_a 2^23 = m_b (m + 1/2 +- 1/(2 m_b)) for odd m_b,
        // that is m_a = +-2^-24 mod m_b (2^-1 is (m_b + 1) / 2 modulo an odd m_b).
        let mb = u64::from(w[1] | 0x0080_0001) & 0x00ff_ffff;
        let half = mb / 2 + 1;
        let inverse = (0..23).fold(half, |p, _| p * half % mb);
        let ma = [inverse, mb - inverse][(w[0] & 1) as usize] + mb;
        if ma < 1 << 24 {
            let significand = |m: u64, e: u32| f32::from_bits(e << 23 | (m as u32 & 0x7f_ffff));
            let (a, b) = (significand(ma, 127 + w[2] % 20), significand(mb, 120 + w[3] % 20));
            cases.push([a.to_bits(), b.to_bits(), nudge(a / b, k).to_bits(), nudge(a.sqrt(), l).to_bits()]);
        }
    }
    for ctx in contexts() {
        let name = nninit::gpu::describe(&ctx.info);
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("rounding_check"),
            source: wgpu::ShaderSource::Wgsl(SOURCE.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("rounding_check"),
            layout: None,
            module: &module,
            entry_point: Some("rounding_check"),
            compilation_options: Default::default(),
            cache: None,
        });
        let buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("rounding_check"),
            contents: bytemuck::cast_slice(&cases),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("rounding_check"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: buffer.as_entire_binding() }],
        });
        record_and_wait(ctx, |encoder| {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(cases.len().div_ceil(64) as u32, 1, 1);
            Ok(())
        })
        .unwrap();
        let bytes = nninit::gpu::read_buffer_blocking(device, &ctx.queue, &buffer, 0..buffer.size()).unwrap();
        let out: Vec<[u32; 4]> = bytemuck::pod_collect_to_vec(&bytes);
        for (case, got) in cases.iter().zip(&out) {
            let [a, b, q0, r0] = case.map(f32::from_bits);
            assert_eq!(f32::from_bits(got[0]), a / b, "{name}: {a:e} / {b:e} from the estimate {q0:e}");
            assert_eq!(f32::from_bits(got[1]), a.sqrt(), "{name}: sqrt {a:e} from the estimate {r0:e}");
        }
    }
}

#[test]
fn constants_ones_and_zeros_are_exact() {
    for ctx in contexts() {
        for (scheme, val) in [
            (Scheme::ones(), 1.0f32),
            (Scheme::zeros(), 0.0),
            (Scheme::constant(-2.5).unwrap(), -2.5),
            (Scheme::constant(f64::NEG_INFINITY).unwrap(), f32::NEG_INFINITY),
        ] {
            let gpu = fill_guarded(ctx, &flat(&scheme, Stream::new(1, 0)), 3, 777, 3, 2);
            assert!(gpu.iter().all(|&w| w == val.to_bits()), "{:?} {scheme:?}", ctx.info.backend);
        }
    }
}

#[test]
fn philox_known_answers_with_both_multiplies() {
    let kat = [
        ([0u32; 4], [0u32; 2], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
        ([u32::MAX; 4], [u32::MAX; 2], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    // Random inputs from the CPU's own stream, with all-zero and all-one halves mixed in.
    let mut inputs: Vec<([u32; 4], [u32; 2])> = kat.iter().map(|(c, k, _)| (*c, *k)).collect();
    let source = Stream::new(99, 0);
    for b in 0..4096u64 {
        let w = source.block(b);
        let k = source.block((b + 1) << 20);
        let mask = if b % 7 == 0 { 0xffff_0000 } else { u32::MAX };
        inputs.push(([w[0] & mask, w[1], w[2] | !mask, w[3]], [k[0], k[1] & mask]));
    }
    for ctx in contexts() {
        let mut multiplies = vec![Multiply::Emulated];
        if ctx.device.features().contains(wgpu::Features::SHADER_INT64) {
            multiplies.push(Multiply::Native);
        }
        for multiply in multiplies {
            let filler = pollster::block_on(GpuFiller::with_multiply(&ctx.device, &ctx.queue, multiply)).unwrap();
            let out = pollster::block_on(filler.philox_blocks(&inputs)).unwrap();
            for (i, (ctr, key, expected)) in kat.iter().enumerate() {
                assert_eq!(out[i], *expected, "{:?} {multiply:?} known answer {i}", ctx.info.backend);
                assert_eq!(cpu_philox(*ctr, *key), *expected);
            }
            for ((ctr, key), got) in inputs.iter().zip(&out) {
                assert_eq!(*got, cpu_philox(*ctr, *key), "{:?} {multiply:?}", ctx.info.backend);
            }
        }
    }
}

/// Philox on the CPU for any (counter, key): the stream whose key and counter these are.
fn cpu_philox(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Stream::new(join(key[0], key[1]), join(ctr[2], ctr[3])).block(join(ctr[0], ctr[1]))
}

#[test]
fn native_multiply_without_int64_is_an_error() {
    for ctx in contexts() {
        if !ctx.device.features().contains(wgpu::Features::SHADER_INT64) {
            let result = pollster::block_on(GpuFiller::with_multiply(&ctx.device, &ctx.queue, Multiply::Native));
            assert!(matches!(result, Err(Error::LimitExceeded(_))));
        }
    }
}

/// A device whose limits are requested small: 1 KiB bindings and 2 workgroups per dimension, so
/// fills need many windows and 2-D dispatches.
fn small_limit_contexts() -> Vec<GpuContext> {
    nninit::gpu::adapters_blocking()
        .iter()
        .map(|adapter| {
            let limits = wgpu::Limits {
                max_storage_buffer_binding_size: 1024,
                max_compute_workgroups_per_dimension: 2,
                ..adapter.limits()
            };
            GpuContext::from_adapter_blocking(adapter, limits).expect("device with small limits")
        })
        .collect()
}

#[test]
fn small_limits_use_windows_and_2d_dispatches() {
    let contexts = small_limit_contexts();
    assert!(!contexts.is_empty());
    for ctx in &contexts {
        let limits = ctx.device.limits();
        assert_eq!((limits.max_storage_buffer_binding_size, limits.max_compute_workgroups_per_dimension), (1024, 2));
        for scheme in [Scheme::uniform(-1.0, 1.0).unwrap(), Scheme::normal(0.0, 1.0).unwrap(), Scheme::ones()] {
            let fill = flat(&scheme, Stream::new(5, 5));
            for &(first, count, at, tail) in &[(1u64, 5000usize, 3usize, 9usize), (0, 256, 64, 0), (7, 4093, 61, 1)] {
                let gpu = fill_guarded(ctx, &fill, first, count, at, tail);
                let cpu = cpu_words(&fill, first, count);
                assert!(gpu == cpu, "{:?} {scheme:?} first {first}", ctx.info.backend);
            }
        }
    }
}

#[test]
fn a_window_larger_than_the_dispatch_limit_goes_2d() {
    // Default binding size, but only 2 x 2 workgroups per window: 2-D dispatches, several windows.
    for adapter in nninit::gpu::adapters_blocking() {
        let limits = wgpu::Limits { max_compute_workgroups_per_dimension: 2, ..adapter.limits() };
        let ctx = GpuContext::from_adapter_blocking(&adapter, limits).unwrap();
        let fill = Fill::raw_words(Stream::new(8, 8));
        let count = 3 * 4096 + 17;
        assert_eq!(fill_guarded(&ctx, &fill, 2, count, 1, 1), cpu_words(&fill, 2, count));
    }
}

#[test]
fn bad_targets_are_typed_errors() {
    for ctx in contexts() {
        let buffer = common::guarded_buffer(ctx, 16);
        let fill = Fill::raw_words(Stream::default());
        let target =
            |byte_offset: u64, region: Region| GpuTarget { buffer: &buffer, byte_offset, region, dtype: Dtype::F32 };
        let cases = [
            (target(2, Region::Elements(0..4)), "misaligned"),
            (target(0, Region::Elements(0..17)), "overrun"),
            (target(60, Region::Elements(10..12)), "overrun at an offset"),
        ];
        for (target, why) in &cases {
            let result = record_and_wait(ctx, |encoder| ctx.filler.record(encoder, &fill, target));
            assert!(matches!(result, Err(Error::InvalidTarget(_))), "{why}: {result:?}");
        }
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = target(0, Region::Elements(5..3));
        let result = record_and_wait(ctx, |encoder| ctx.filler.record(encoder, &fill, &reversed));
        assert!(matches!(result, Err(Error::InvalidShape(_))), "reversed: {result:?}");
        let raw_whole = target(0, Region::All);
        let result = record_and_wait(ctx, |encoder| ctx.filler.record(encoder, &fill, &raw_whole));
        assert!(matches!(result, Err(Error::InvalidShape(_))), "raw words have no end: {result:?}");
        let no_storage = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 64,
            usage: wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let whole = GpuTarget { region: Region::Elements(0..16), ..GpuTarget::new(&no_storage, Dtype::F32) };
        let result = record_and_wait(ctx, |encoder| ctx.filler.record(encoder, &fill, &whole));
        assert!(matches!(result, Err(Error::InvalidTarget(_))));
    }
}

#[test]
fn empty_range_writes_nothing() {
    for ctx in contexts() {
        let fill = flat(&Scheme::normal(0.0, 1.0).unwrap(), Stream::new(3, 0));
        assert!(fill_guarded(ctx, &fill, 10, 0, 8, 8).is_empty());
    }
}

#[test]
fn many_fills_recorded_before_one_submit_keep_their_own_parameters() {
    for ctx in contexts() {
        let buffer = common::guarded_buffer(ctx, 3000);
        let fills: Vec<Fill> = (0..3)
            .map(|i| flat(&Scheme::uniform(f64::from(i), f64::from(i) + 0.5).unwrap(), Stream::new(11, i as u64)))
            .collect();
        record_and_wait(ctx, |encoder| {
            for (i, fill) in fills.iter().enumerate() {
                let target = GpuTarget {
                    buffer: &buffer,
                    byte_offset: (i * 4000) as u64,
                    region: Region::Elements(0..1000),
                    dtype: Dtype::F32,
                };
                ctx.filler.record(encoder, fill, &target)?;
            }
            Ok(())
        })
        .unwrap();
        let bytes = nninit::gpu::read_buffer_blocking(&ctx.device, &ctx.queue, &buffer, 0..12_000).unwrap();
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        for (i, fill) in fills.iter().enumerate() {
            assert_eq!(&words[i * 1000..(i + 1) * 1000], cpu_words(fill, 0, 1000).as_slice());
        }
    }
}
