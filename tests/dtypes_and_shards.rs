//! f16 / bf16 output with odd offsets and guard halves, shards equal to slices of the full tensor,
//! and the multi-GB paths (a tensor beyond the binding limit, a model beyond 4 GiB), on every
//! adapter against the CPU backend.

mod common;

use nninit::cpu::CpuBackend;
use nninit::{Dtype, Fill, Plan, Region, Scheme, Shard, Stream};

fn cpu_bytes(plan: &Plan, stream: Stream, first: u64, count: u64, dtype: Dtype) -> Vec<u8> {
    let mut out = vec![0u8; (count * dtype.size()) as usize];
    let fill = Fill::from_plan(plan, stream).unwrap();
    CpuBackend::new().fill(&fill, &Region::Elements(first..first + count), dtype, &mut out).unwrap();
    out
}

#[test]
fn cpu_half_values_are_the_rounded_f32_values() {
    let plan = Plan::new(&Scheme::normal(0.0, 1.0).unwrap(), &[4099]).unwrap();
    let stream = Stream::new(4, 4);
    let f32_bytes = cpu_bytes(&plan, stream, 0, 4099, Dtype::F32);
    for dtype in [Dtype::F16, Dtype::Bf16] {
        let got = cpu_bytes(&plan, stream, 0, 4099, dtype);
        for (w, h) in f32_bytes.chunks_exact(4).zip(got.chunks_exact(2)) {
            let x = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let expected = match dtype {
                Dtype::F16 => half::f16::from_f32(x).to_bits(),
                _ => half::bf16::from_f32(x).to_bits(),
            };
            assert_eq!(u16::from_le_bytes([h[0], h[1]]), expected);
        }
    }
}

#[test]
fn half_precision_on_every_adapter_with_odd_offsets_and_guards() {
    let cases = [
        Scheme::uniform(-1.0, 1.0).unwrap(),
        Scheme::normal(0.0, 0.02).unwrap(),
        Scheme::trunc_normal(0.0, 1.0, -2.0, 2.0).unwrap(),
        Scheme::eye(),
        Scheme::constant(f64::NAN).unwrap(),
        Scheme::constant(f64::INFINITY).unwrap(),
        Scheme::constant(-65520.0).unwrap(),
        Scheme::constant(1e-7).unwrap(),
        Scheme::constant(-0.0).unwrap(),
        Scheme::orthogonal(1.0).unwrap(),
        Scheme::sparse(0.5, 1.0).unwrap(),
    ];
    for ctx in common::contexts() {
        for dtype in [Dtype::F16, Dtype::Bf16] {
            for init in &cases {
                let plan = Plan::new(init, &[61, 67]).unwrap();
                let fill = Fill::from_plan(&plan, Stream::new(3, 1)).unwrap();
                // (first element, count, elements before, elements after): odd everything.
                for (first, count, at, tail) in
                    [(0u64, 4087usize, 0usize, 0usize), (1, 1, 1, 1), (3, 2, 1, 0), (5, 1000, 3, 1), (2, 999, 0, 3)]
                {
                    let gpu = common::fill_guarded_as(ctx, &fill, dtype, first, count, at, tail);
                    let cpu = cpu_bytes(&plan, Stream::new(3, 1), first, count as u64, dtype);
                    compare(&gpu, &cpu, dtype, init, ctx);
                }
            }
            // Orthogonal and sparse (host-prepared) read back through the bounded host path too.
            for init in &cases[9..] {
                let plan = Plan::new(init, &[61, 67]).unwrap();
                let fill = Fill::from_plan(&plan, Stream::new(3, 1)).unwrap();
                let gpu = ctx.filler.fill_to_host_blocking(&fill, &Region::Elements(7..4000), dtype).unwrap();
                compare(&gpu, &cpu_bytes(&plan, Stream::new(3, 1), 7, 3993, dtype), dtype, init, ctx);
            }
        }
    }
}

#[test]
fn long_half_precision_constants_have_whole_words_and_guarded_ends() {
    // Spans of 4096 elements and more are written as 32-bit word patterns with their ends as
    // half-words: every parity of start and end, and one span just too short for it.
    let values = [f64::NAN, -65520.0, 1e-7, -0.0, 0.1, 1.0];
    for ctx in common::contexts() {
        for dtype in [Dtype::F16, Dtype::Bf16] {
            for value in values {
                let init = Scheme::constant(value).unwrap();
                let plan = Plan::new(&init, &[100, 101]).unwrap();
                let fill = Fill::from_plan(&plan, Stream::new(3, 1)).unwrap();
                let expected = match dtype {
                    Dtype::F16 => half::f16::from_f32(value as f32).to_bits(),
                    _ => half::bf16::from_f32(value as f32).to_bits(),
                };
                for (first, count, at, tail) in [
                    (0u64, 10100usize, 0usize, 0usize),
                    (1, 4096, 1, 1),
                    (2, 4097, 1, 0),
                    (5, 4097, 0, 1),
                    (3, 9999, 2, 3),
                    (7, 4095, 1, 1),
                ] {
                    let gpu = common::fill_guarded_as(ctx, &fill, dtype, first, count, at, tail);
                    compare(&gpu, &cpu_bytes(&plan, Stream::new(3, 1), first, count as u64, dtype), dtype, &init, ctx);
                    let wrong = gpu.chunks_exact(2).position(|h| u16::from_le_bytes([h[0], h[1]]) != expected);
                    assert_eq!(wrong, None, "{dtype:?} {value}: not {expected:04x}");
                }
            }
        }
    }
}

/// Bit-identical, every scheme (normal-derived ones included).
fn compare(gpu: &[u8], cpu: &[u8], dtype: Dtype, init: &Scheme, ctx: &nninit::gpu::GpuContext) {
    assert_eq!(gpu.len(), cpu.len());
    for (i, (g, c)) in gpu.chunks_exact(2).zip(cpu.chunks_exact(2)).enumerate() {
        let (g, c) = (u16::from_le_bytes([g[0], g[1]]), u16::from_le_bytes([c[0], c[1]]));
        assert!(g == c, "{:?} {dtype:?} {init:?} element {i}: {g:04x} vs {c:04x}", ctx.info.backend);
    }
}

#[test]
fn shards_are_exact_slices_of_the_full_tensor() {
    let shape = [37usize, 29];
    let shards = [
        Shard { rows: Some(5..17), cols: None },
        Shard { rows: None, cols: Some(3..20) },
        Shard { rows: Some(1..36), cols: Some(28..29) },
        Shard { rows: Some(0..37), cols: Some(0..29) },
    ];
    let inits = [
        Scheme::normal(0.0, 1.0).unwrap(),
        Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04).unwrap(),
        Scheme::kaiming_uniform(0.0, "fan_in", "relu").unwrap(),
        Scheme::eye(),
        Scheme::orthogonal(1.0).unwrap(),
        Scheme::sparse(0.7, 0.1).unwrap(),
    ];
    for init in &inits {
        let plan = Plan::new(init, &shape).unwrap();
        let stream = Stream::new(21, 0);
        for dtype in [Dtype::F32, Dtype::Bf16] {
            let size = dtype.size() as usize;
            let full = cpu_bytes(&plan, stream, 0, plan.elements(), dtype);
            for shard in &shards {
                let shard_shape = shard.shape(&shape).unwrap();
                let n: usize = shard_shape.iter().product();
                let mut cpu = vec![0u8; n * size];
                let fill = Fill::from_plan(&plan, stream).unwrap();
                let region = Region::Shard(shard.clone());
                CpuBackend::new().fill(&fill, &region, dtype, &mut cpu).unwrap();
                // The slice of the full tensor, gathered by hand.
                let rows = shard.rows.clone().unwrap_or(0..37);
                let cols = shard.cols.clone().unwrap_or(0..29);
                let mut expected = Vec::new();
                for r in rows {
                    for c in cols.clone() {
                        let i = (r * 29 + c) as usize * size;
                        expected.extend_from_slice(&full[i..i + size]);
                    }
                }
                assert!(cpu == expected, "{init:?} {dtype:?} {shard:?}");
                for ctx in common::contexts() {
                    let gpu = ctx.filler.fill_to_host_blocking(&fill, &region, dtype).unwrap();
                    assert!(gpu == cpu, "{:?} {init:?} {dtype:?} {shard:?}", ctx.info.backend);
                }
            }
        }
    }
    // Rows of an N-D tensor, and bad shards.
    let shard = Shard { rows: Some(2..3), cols: None };
    assert_eq!(shard.segments(&[4, 3, 2, 2]).unwrap(), vec![24..36]);
    assert!(Shard { rows: Some(3..9), cols: None }.shape(&[4, 4]).is_err());
    assert!(Shard { rows: None, cols: Some(1..2) }.shape(&[4, 4, 4]).is_err());
}

/// `Region::Block` (a DTensor's local shard): every box of 3-D and 2-D tensors, cut on any
/// dimensions, is exactly its elements of the full tensor gathered by hand, on the CPU and every
/// adapter, element-wise and host-computed schemes, f32 and bf16; bad boxes are refused.
#[test]
fn blocks_are_exact_boxes_of_the_full_tensor() {
    type Boxes = Vec<Vec<std::ops::Range<u64>>>;
    let cases: [(&[usize], Boxes); 2] = [
        (
            &[6, 5, 7],
            vec![vec![0..6, 0..5, 2..5], vec![1..4, 2..3, 0..7], vec![3..6, 0..5, 0..7], vec![2..3, 1..4, 6..7]],
        ),
        (&[9, 11], vec![vec![0..9, 4..8], vec![3..9, 0..11], vec![2..5, 10..11], vec![0..0, 0..11]]),
    ];
    for (shape, blocks) in &cases {
        let schemes: Vec<Scheme> = if shape.len() == 2 {
            vec![Scheme::normal(0.5, 2.0).unwrap(), Scheme::orthogonal(1.0).unwrap(), Scheme::sparse(0.3, 1.0).unwrap()]
        } else {
            vec![
                Scheme::normal(0.5, 2.0).unwrap(),
                Scheme::dirac(1).unwrap(),
                Scheme::kaiming_uniform(0.0, "fan_in", "relu").unwrap(),
            ]
        };
        for init in &schemes {
            let plan = Plan::new(init, shape).unwrap();
            let stream = Stream::new(5, 9);
            for dtype in [Dtype::F32, Dtype::Bf16] {
                let size = dtype.size() as usize;
                let full = cpu_bytes(&plan, stream, 0, plan.elements(), dtype);
                for block in blocks {
                    let mut expected = Vec::new();
                    let strides: Vec<u64> =
                        (0..shape.len()).map(|d| shape[d + 1..].iter().map(|&x| x as u64).product()).collect();
                    let count: u64 = block.iter().map(|r| r.end - r.start).product();
                    for k in 0..count {
                        // The k-th element of the box in row-major order, by hand.
                        let (mut rest, mut at) = (k, 0u64);
                        for d in (0..shape.len()).rev() {
                            let len = block[d].end - block[d].start;
                            at += (block[d].start + rest % len) * strides[d];
                            rest /= len;
                        }
                        let i = at as usize * size;
                        expected.extend_from_slice(&full[i..i + size]);
                    }
                    let fill = Fill::from_plan(&plan, stream).unwrap();
                    let region = Region::Block(block.clone());
                    let mut cpu = vec![0u8; expected.len()];
                    CpuBackend::new().fill(&fill, &region, dtype, &mut cpu).unwrap();
                    assert!(cpu == expected, "{init:?} {dtype:?} {block:?}");
                    for ctx in common::contexts() {
                        let gpu = ctx.filler.fill_to_host_blocking(&fill, &region, dtype).unwrap();
                        assert!(gpu == cpu, "{:?} {init:?} {dtype:?} {block:?}", ctx.info.backend);
                    }
                }
            }
        }
    }
    let fill = Fill::new(&Scheme::ones(), &[4, 4], Stream::new(0, 0)).unwrap();
    let mut out = vec![0u8; 64];
    // Too few ranges, one past its dimension, one reversed.
    #[allow(clippy::single_range_in_vec_init, clippy::reversed_empty_ranges)]
    let bad_boxes = [vec![0..4], vec![0..5, 0..4], vec![0..4, 3..2]];
    for bad in bad_boxes {
        let err = CpuBackend::new().fill(&fill, &Region::Block(bad.clone()), Dtype::F32, &mut out).unwrap_err();
        assert!(matches!(err, nninit::Error::InvalidShape(_)), "{bad:?}: {err}");
    }
}

/// `Fill::with_zero_row` (`nn.Embedding`'s `padding_idx`): the row is zeros and every other
/// value is the unpadded fill's, on the CPU for every region and shard, and on every adapter bit
/// for bit, with guards, f32 and 16-bit, ranges starting and ending inside the row.
#[test]
fn a_zero_row_is_zeros_and_leaves_every_other_value() {
    let shape = [23usize, 11];
    let (row, per_row) = (7u64, 11u64);
    let inits = [
        Scheme::normal(0.0, 0.02).unwrap(),
        Scheme::trunc_normal(0.0, 1.0, -2.0, 2.0).unwrap(),
        Scheme::orthogonal(1.0).unwrap(),
        Scheme::sparse(0.5, 1.0).unwrap(),
    ];
    let zeroed = row * per_row..(row + 1) * per_row;
    for init in &inits {
        let plan = Plan::new(init, &shape).unwrap();
        let stream = Stream::new(8, 2);
        let drawn = Fill::from_plan(&plan, stream).unwrap();
        let padded = drawn.clone().with_zero_row(row).unwrap();
        assert_eq!(padded.zero_row(), Some(row));
        for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
            let size = dtype.size() as usize;
            let full = cpu_bytes(&plan, stream, 0, plan.elements(), dtype);
            let mut expected = full.clone();
            expected[zeroed.start as usize * size..zeroed.end as usize * size].fill(0);
            let mut whole = vec![0u8; full.len()];
            CpuBackend::new().fill(&padded, &Region::All, dtype, &mut whole).unwrap();
            assert!(whole == expected, "{init:?} {dtype:?}");
            // Ranges inside, across and around the row, and a shard through it.
            for (first, count) in [(0u64, 253usize), (80, 3), (75, 5), (86, 4), (60, 40), (1, 76), (88, 100)] {
                let part = &expected[first as usize * size..(first as usize + count) * size];
                let mut cpu = vec![0u8; count * size];
                CpuBackend::new()
                    .fill(&padded, &Region::Elements(first..first + count as u64), dtype, &mut cpu)
                    .unwrap();
                assert!(cpu == part, "{init:?} {dtype:?} {first}+{count}");
                for ctx in common::contexts() {
                    let gpu = common::fill_guarded_as(ctx, &padded, dtype, first, count, 1, 1);
                    assert!(gpu == part, "{:?} {init:?} {dtype:?} {first}+{count}", ctx.info.backend);
                }
            }
            let shard = Region::Shard(Shard { rows: Some(6..9), cols: Some(2..9) });
            let mut cpu = vec![0u8; 3 * 7 * size];
            CpuBackend::new().fill(&padded, &shard, dtype, &mut cpu).unwrap();
            let mut sliced = Vec::new();
            for r in 6..9 {
                sliced.extend_from_slice(&expected[(r * 11 + 2) * size..(r * 11 + 9) * size]);
            }
            assert!(cpu == sliced, "{init:?} {dtype:?} shard");
            for ctx in common::contexts() {
                assert!(ctx.filler.fill_to_host_blocking(&padded, &shard, dtype).unwrap() == cpu);
            }
        }
    }
    // PyTorch's checks: the row must exist.
    let fill = Fill::new(&Scheme::normal(0.0, 1.0).unwrap(), &[4, 3], Stream::new(1, 1)).unwrap();
    let e = fill.clone().with_zero_row(4).unwrap_err().to_string();
    assert!(e.contains("Padding_idx must be within num_embeddings"), "{e}");
    assert!(Fill::new(&Scheme::ones(), &[], Stream::new(1, 1)).unwrap().with_zero_row(0).is_err());
    assert!(Fill::raw_words(Stream::new(1, 1)).with_zero_row(0).is_err());
}
