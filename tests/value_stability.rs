//! Value stability: exact output bits of every scheme in f32, f16 and bf16 at fixed (seed, stream,
//! index) points, indices above 2^33 and a name stream among them. The CPU backend and every
//! adapter must give them, normal-derived values included (the table in docs/contract.md).
//!
//! The pins are not only unchanged values: each is also checked against an independent f64
//! computation of the stream contract (Philox4x32-10 written out here in u64 arithmetic, then the
//! formulas of docs/contract.md), so they are known to be right.
//!
//! If a pin fails, the values nninit produces changed: that is a change of the stream contract,
//! and `STREAM_VERSION` must be bumped (and the pins, docs/contract.md and CHANGELOG.md updated with it).

mod common;

use nninit::cpu::{CpuBackend, CpuVariant};
use nninit::inspect::stats::trunc_normal_cdf;
use nninit::{name_stream, Dtype, Fill, Region, Scheme, Stream, STREAM_VERSION};

/// The contract version these pins belong to.
const PINNED_VERSION: u32 = 1;

/// A tensor large enough for indices above 2^33.
const BIG: [usize; 2] = [1 << 20, 1 << 14];

/// Every case's id.
const CASES: [&str; 17] = [
    "words",
    "uniform",
    "normal",
    "trunc_normal",
    "trunc_normal_narrow",
    "trunc_normal_tail",
    "constant",
    "ones",
    "zeros",
    "eye",
    "dirac",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "sparse",
];

/// The schemes and shapes pinned, by id.
fn case(id: &str) -> (Option<Scheme>, Vec<usize>) {
    let s = |r: nninit::Result<Scheme>| Some(r.unwrap());
    match id {
        "words" => (None, vec![]),
        "uniform" => (s(Scheme::uniform(-0.3, 0.7)), BIG.to_vec()),
        "normal" => (s(Scheme::normal(0.5, 0.02)), BIG.to_vec()),
        "trunc_normal" => (s(Scheme::trunc_normal(0.0, 1.0, -2.0, 2.0)), BIG.to_vec()),
        "trunc_normal_narrow" => (s(Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04)), BIG.to_vec()),
        "trunc_normal_tail" => (s(Scheme::trunc_normal(0.0, 1.0, 3.0, f64::INFINITY)), BIG.to_vec()),
        "constant" => (s(Scheme::constant(-2.5)), BIG.to_vec()),
        "ones" => (Some(Scheme::ones()), BIG.to_vec()),
        "zeros" => (Some(Scheme::zeros()), BIG.to_vec()),
        "eye" => (Some(Scheme::eye()), vec![50, 70]),
        "dirac" => (s(Scheme::dirac(2)), vec![8, 6, 3, 3]),
        "xavier_uniform" => (s(Scheme::xavier_uniform(1.0)), BIG.to_vec()),
        "xavier_normal" => (s(Scheme::xavier_normal(2.0)), BIG.to_vec()),
        "kaiming_uniform" => (s(Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu")), BIG.to_vec()),
        "kaiming_normal" => (s(Scheme::kaiming_normal(0.0, "fan_out", "relu")), BIG.to_vec()),
        "orthogonal" => (s(Scheme::orthogonal(1.5)), vec![24, 40]),
        "sparse" => (s(Scheme::sparse(0.5, 0.01)), vec![40, 24]),
        other => panic!("no case {other}"),
    }
}

/// The streams: seed 0 stream 0, a name stream, and all-ones halves with a stream above 2^32.
fn stream(which: u8) -> Stream {
    match which {
        0 => Stream::new(0, 0),
        1 => Stream::new(2024, name_stream("layer1.0.conv1.weight")),
        _ => Stream::new(u64::MAX, (1 << 33) + 5),
    }
}

/// (case, stream, index, f32 bits, f16 bits, bf16 bits).
type Pin = (&'static str, u8, u64, u32, u16, u16);

const PINS: &[Pin] = &[
    ("words", 0, 5, 0x5cb200db, 0x7c00, 0x5cb2),
    ("words", 1, 8589934595, 0x58398c6b, 0x7c00, 0x583a),
    ("words", 2, 17179869183, 0x2d68576a, 0x0000, 0x2d68),
    ("uniform", 0, 5, 0x3d7e5330, 0x2bf3, 0x3d7e),
    ("uniform", 1, 8589934595, 0x3d36cbf0, 0x29b6, 0x3d37),
    ("uniform", 2, 8589934593, 0x3e8e40c0, 0x3472, 0x3e8e),
    ("normal", 0, 5, 0x3f00ed03, 0x3807, 0x3f01),
    ("normal", 1, 8589934595, 0x3f0cf779, 0x3868, 0x3f0d),
    ("normal", 2, 8589934593, 0x3ef8fc50, 0x37c8, 0x3ef9),
    ("trunc_normal", 0, 5, 0xbeac2058, 0xb561, 0xbeac),
    ("trunc_normal", 1, 8589934595, 0xbec2f086, 0xb618, 0xbec3),
    ("trunc_normal", 2, 8589934593, 0x3e3fd17b, 0x31ff, 0x3e40),
    ("trunc_normal_narrow", 0, 5, 0xbbdc525c, 0x9ee3, 0xbbdc),
    ("trunc_normal_narrow", 1, 8589934595, 0xbbf985ca, 0x9fcc, 0xbbfa),
    ("trunc_normal_narrow", 2, 8589934593, 0x3b758703, 0x1bac, 0x3b76),
    ("trunc_normal_tail", 0, 5, 0x4048998b, 0x4245, 0x4049),
    ("trunc_normal_tail", 1, 8589934595, 0x40481794, 0x4241, 0x4048),
    ("trunc_normal_tail", 2, 8589934593, 0x40503a0f, 0x4282, 0x4050),
    ("constant", 0, 5, 0xc0200000, 0xc100, 0xc020),
    ("constant", 1, 8589934595, 0xc0200000, 0xc100, 0xc020),
    ("constant", 2, 8589934593, 0xc0200000, 0xc100, 0xc020),
    ("ones", 0, 5, 0x3f800000, 0x3c00, 0x3f80),
    ("ones", 1, 8589934595, 0x3f800000, 0x3c00, 0x3f80),
    ("ones", 2, 8589934593, 0x3f800000, 0x3c00, 0x3f80),
    ("zeros", 0, 5, 0x00000000, 0x0000, 0x0000),
    ("zeros", 1, 8589934595, 0x00000000, 0x0000, 0x0000),
    ("zeros", 2, 8589934593, 0x00000000, 0x0000, 0x0000),
    ("eye", 0, 5, 0x00000000, 0x0000, 0x0000),
    ("eye", 1, 3499, 0x00000000, 0x0000, 0x0000),
    ("eye", 2, 1751, 0x00000000, 0x0000, 0x0000),
    ("eye", 0, 0, 0x3f800000, 0x3c00, 0x3f80),
    ("eye", 1, 71, 0x3f800000, 0x3c00, 0x3f80),
    ("dirac", 0, 5, 0x00000000, 0x0000, 0x0000),
    ("dirac", 1, 431, 0x00000000, 0x0000, 0x0000),
    ("dirac", 2, 217, 0x00000000, 0x0000, 0x0000),
    ("dirac", 0, 4, 0x3f800000, 0x3c00, 0x3f80),
    ("dirac", 1, 283, 0x3f800000, 0x3c00, 0x3f80),
    ("xavier_uniform", 0, 5, 0xba2b9f10, 0x915d, 0xba2c),
    ("xavier_uniform", 1, 8589934595, 0xba415a6c, 0x920b, 0xba41),
    ("xavier_uniform", 2, 8589934593, 0x39c1bb28, 0x0e0e, 0x39c2),
    ("xavier_normal", 0, 5, 0x3a01ebbc, 0x100f, 0x3a02),
    ("xavier_normal", 1, 8589934595, 0x3be37364, 0x1f1c, 0x3be3),
    ("xavier_normal", 2, 8589934593, 0xbaf614f1, 0x97b1, 0xbaf6),
    ("kaiming_uniform", 0, 5, 0xbb0d3800, 0x986a, 0xbb0d),
    ("kaiming_uniform", 1, 8589934595, 0xbb1f19d0, 0x98f9, 0xbb1f),
    ("kaiming_uniform", 2, 8589934593, 0x3a9f6968, 0x14fb, 0x3a9f),
    ("kaiming_normal", 0, 5, 0x3982ee92, 0x0c17, 0x3983),
    ("kaiming_normal", 1, 8589934595, 0x3b653888, 0x1b2a, 0x3b65),
    ("kaiming_normal", 2, 8589934593, 0xba77ff33, 0x93c0, 0xba78),
    ("orthogonal", 0, 5, 0x3d5ad1b6, 0x2ad7, 0x3d5b),
    ("orthogonal", 1, 959, 0x3e004dcb, 0x3002, 0x3e00),
    ("orthogonal", 2, 481, 0x3d6bf72e, 0x2b60, 0x3d6c),
    ("sparse", 0, 5, 0x3aed0318, 0x1768, 0x3aed),
    ("sparse", 1, 959, 0x3be8cabc, 0x1f46, 0x3be9),
    ("sparse", 2, 481, 0x00000000, 0x0000, 0x0000),
];

fn fill_of(id: &str, which: u8) -> Fill {
    match case(id) {
        (None, _) => Fill::raw_words(stream(which)),
        (Some(scheme), shape) => Fill::new(&scheme, &shape, stream(which)).unwrap(),
    }
}

fn cpu_bits(fill: &Fill, index: u64, dtype: Dtype) -> u32 {
    let mut out = [0u8; 4];
    let out = &mut out[..dtype.size() as usize];
    CpuBackend::with_threads(1).fill(fill, &Region::Elements(index..index + 1), dtype, out).unwrap();
    out.iter().rev().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

// ---- The independent reference: the contract written out in f64. ----

/// Philox4x32-10, written out here: 64-bit products, Random123's constants.
fn philox(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter.map(u64::from), key.map(u64::from));
    for round in 0..10 {
        if round > 0 {
            k = [(k[0] + 0x9E37_79B9) & 0xffff_ffff, (k[1] + 0xBB67_AE85) & 0xffff_ffff];
        }
        let p0 = 0xD251_1F53u64 * c[0];
        let p1 = 0xCD9E_8D57u64 * c[2];
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & 0xffff_ffff, (p0 >> 32) ^ c[3] ^ k[1], p0 & 0xffff_ffff];
    }
    c.map(|x| x as u32)
}

/// Word `i` of a stream, by the contract's counter and key layout.
fn word(s: Stream, i: u64) -> u32 {
    let b = i / 4;
    let counter = [b as u32, (b >> 32) as u32, s.stream as u32, (s.stream >> 32) as u32];
    philox(counter, [s.seed as u32, (s.seed >> 32) as u32])[(i % 4) as usize]
}

/// The f64 standard normal of element `i` (Box-Muller on its block's word pair, f64 math).
fn normal_f64(s: Stream, i: u64) -> f64 {
    let pair = i / 2 * 2;
    let (even, odd) = (word(s, pair), word(s, pair + 1));
    let u1 = f64::from(even as f32) * 2f64.powi(-32) + 2f64.powi(-33);
    let u2 = f64::from(odd >> 8) * 2f64.powi(-24);
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = std::f64::consts::TAU * u2;
    if i.is_multiple_of(2) {
        r * theta.cos()
    } else {
        r * theta.sin()
    }
}

/// The f64 truncated normal of element `i`: the inverse of the exact CDF by bisection.
fn trunc_normal_f64(s: Stream, i: u64, mean: f64, std: f64, a: f64, b: f64) -> f64 {
    let u = (f64::from(word(s, i) >> 9) + 0.5) * 2f64.powi(-23);
    let (mut lo, mut hi) = (a.max(mean - 40.0 * std), b.min(mean + 40.0 * std));
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if trunc_normal_cdf(mid, mean, std, a, b) < u {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The reference value of element `index` of case `id`, and the tolerance docs/contract.md states for
/// it (0 where the value is exact).
fn reference(id: &str, which: u8, index: u64) -> (f64, f64) {
    let s = stream(which);
    let eps = f64::from(f32::EPSILON);
    let uniform = |a: f64, b: f64| {
        let u = f64::from(word(s, index) >> 8) * 2f64.powi(-24);
        (a + (b - a) * u, 2.0 * eps * (a.abs() + (b - a).abs()))
    };
    let normal = |mean: f64, std: f64| {
        let z = normal_f64(s, index);
        (mean + std * z, 4.0 * eps * (mean.abs() + std * z.abs().max(1.0)))
    };
    let (fan_in, fan_out) = ((1u64 << 14) as f64, (1u64 << 20) as f64);
    match id {
        "words" => (f64::from(word(s, index)), 0.0),
        "uniform" => uniform(-0.3, 0.7),
        "normal" => normal(0.5, 0.02),
        "trunc_normal" | "trunc_normal_narrow" | "trunc_normal_tail" => {
            let (mean, std, a, b) = match id {
                "trunc_normal" => (0.0, 1.0, -2.0, 2.0),
                "trunc_normal_narrow" => (0.0, 0.02, -0.04, 0.04),
                _ => (0.0, 1.0, 3.0, f64::INFINITY),
            };
            let x = trunc_normal_f64(s, index, mean, std, a, b);
            (x, 1e-5 * x.abs().max(std))
        }
        "constant" => (-2.5, 0.0),
        "ones" => (1.0, 0.0),
        "zeros" => (0.0, 0.0),
        "eye" => (if index / 70 == index % 70 { 1.0 } else { 0.0 }, 0.0),
        "dirac" => {
            // out 8 in 6 k 3x3, 2 groups: out channel o maps to in channel o % 4 at the centre.
            let (o, c, k) = (index / 54, index / 9 % 6, index % 9);
            (if k == 4 && c == o % 4 { 1.0 } else { 0.0 }, 0.0)
        }
        "xavier_uniform" => {
            let bound = 3f64.sqrt() * (2.0 / (fan_in + fan_out)).sqrt();
            uniform(-bound, bound)
        }
        "xavier_normal" => normal(0.0, 2.0 * (2.0 / (fan_in + fan_out)).sqrt()),
        "kaiming_uniform" => {
            let gain = (2.0f64 / 6.0).sqrt();
            let bound = 3f64.sqrt() * gain / fan_in.sqrt();
            uniform(-bound, bound)
        }
        "kaiming_normal" => normal(0.0, 2f64.sqrt() / fan_out.sqrt()),
        other => panic!("no reference for {other}"),
    }
}

#[test]
fn the_contract_version_is_the_pinned_one() {
    assert_eq!(STREAM_VERSION, PINNED_VERSION, "STREAM_VERSION changed: re-derive the pins below for the new contract");
}

fn changed(what: &str) -> String {
    format!(
        "{what}: the values nninit produces changed. That changes the stream contract: bump STREAM_VERSION \
         (src/contract/stream.rs), re-derive these pins, and update docs/contract.md and CHANGELOG.md"
    )
}

#[test]
fn the_cpu_gives_the_pinned_bits() {
    for &(id, which, index, f32_bits, f16_bits, bf16_bits) in PINS {
        let fill = fill_of(id, which);
        let what = format!("{id} stream {which} element {index}");
        assert_eq!(cpu_bits(&fill, index, Dtype::F32), f32_bits, "{}", changed(&format!("{what} f32")));
        assert_eq!(cpu_bits(&fill, index, Dtype::F16), u32::from(f16_bits), "{}", changed(&format!("{what} f16")));
        assert_eq!(cpu_bits(&fill, index, Dtype::Bf16), u32::from(bf16_bits), "{}", changed(&format!("{what} bf16")));
    }
}

/// Every compiled variant of the CPU backend this machine runs (baseline, AVX2, AVX-512) gives
/// the same bits as the baseline: every case, dtype and stream, on runs that start and end at
/// every position of a Philox block and cross the batch evaluator's 64-block groups, one
/// thread and two, and the pinned elements in place.
#[test]
fn every_cpu_variant_gives_the_same_bits() {
    let variants = CpuVariant::supported();
    eprintln!("CPU variants compared: {}", variants.iter().map(|v| v.name()).collect::<Vec<_>>().join(", "));
    assert!(variants.contains(&CpuVariant::Baseline) && variants.contains(&CpuVariant::best()));
    #[cfg(target_arch = "x86_64")]
    assert!(std::arch::is_x86_feature_detected!("avx2") == variants.contains(&CpuVariant::Avx2));
    for id in CASES {
        for which in 0..3u8 {
            let fill = fill_of(id, which);
            let elements = fill.elements().unwrap_or(u64::MAX);
            let len = elements.min(1 << 12);
            let far = if elements > 1 << 34 { (1u64 << 33) + 5 } else { 0 };
            for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
                for (first, count) in
                    [(0, len), (1, len - 1), (2, len - 2), (3, len.min(1030) - 3), (far, 257.min(len))]
                {
                    let region = Region::Elements(first..first + count);
                    let run = |cpu: CpuBackend| {
                        let mut out = vec![0u8; (count * dtype.size()) as usize];
                        cpu.fill(&fill, &region, dtype, &mut out).unwrap();
                        out
                    };
                    let reference = run(CpuBackend::with_threads(1).with_variant(CpuVariant::Baseline).unwrap());
                    for &variant in &variants {
                        for threads in [1, 2] {
                            let got = run(CpuBackend::with_threads(threads).with_variant(variant).unwrap());
                            assert!(
                                got == reference,
                                "{id} stream {which} {dtype:?} {first}..+{count}: {} on {threads} threads differs from the baseline",
                                variant.name()
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_pins_agree_with_an_independent_f64_computation() {
    for &(id, which, index, f32_bits, f16_bits, bf16_bits) in PINS {
        let what = format!("{id} stream {which} element {index}");
        let value = f32::from_bits(f32_bits);
        // f16 and bf16 are the f32 value rounded to nearest-even (the `half` crate's rounding).
        assert_eq!(half::f16::from_f32(value).to_bits(), f16_bits, "{what}: f16 is not the rounded f32");
        assert_eq!(half::bf16::from_f32(value).to_bits(), bf16_bits, "{what}: bf16 is not the rounded f32");
        match id {
            "words" => assert_eq!(f64::from(f32_bits), reference(id, which, index).0, "{what}"),
            // Orthogonal's reference is a property of the whole matrix (see below).
            "orthogonal" => {}
            "sparse" => {
                // A zero, or the stream's normal(0, 0.01) value.
                let z = normal_f64(stream(which), index);
                let tolerance = 4.0 * f64::from(f32::EPSILON) * 0.01 * z.abs().max(1.0);
                assert!(value == 0.0 || (f64::from(value) - 0.01 * z).abs() <= tolerance, "{what}: {value}");
            }
            _ => {
                let (expected, tolerance) = reference(id, which, index);
                let error = (f64::from(value) - expected).abs();
                assert!(error <= tolerance, "{what}: {value} against the f64 reference {expected} (error {error:e})");
            }
        }
    }
}

#[test]
fn the_pinned_orthogonal_matrix_is_orthogonal_with_its_gain() {
    for which in 0..3 {
        let fill = fill_of("orthogonal", which);
        let mut q = vec![0f32; 24 * 40];
        CpuBackend::new().fill(&fill, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut q)).unwrap();
        for i in 0..24 {
            for j in 0..24 {
                let dot: f64 = (0..40).map(|k| f64::from(q[i * 40 + k]) * f64::from(q[j * 40 + k])).sum();
                let expected = if i == j { 1.5 * 1.5 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-5, "stream {which}: rows {i} and {j}: {dot}");
            }
        }
    }
}

#[test]
fn every_adapter_gives_the_pinned_bits() {
    for ctx in common::contexts() {
        let adapter = nninit::gpu::describe(&ctx.info);
        for &(id, which, index, f32_bits, f16_bits, bf16_bits) in PINS {
            let fill = fill_of(id, which);
            let region = Region::Elements(index..index + 1);
            let read = |dtype: Dtype| {
                let bytes = ctx.filler.fill_to_host_blocking(&fill, &region, dtype).unwrap();
                bytes.iter().rev().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
            };
            let what = format!("{adapter}: {id} stream {which} element {index}");
            let (g32, g16, gbf) = (read(Dtype::F32), read(Dtype::F16), read(Dtype::Bf16));
            assert_eq!((g32, g16, gbf), (f32_bits, u32::from(f16_bits), u32::from(bf16_bits)), "{what}");
        }
    }
}

/// The points pinned for case `id`: an index on each stream, above 2^33 where the tensor has
/// that many elements, and the ones of `eye` and `dirac`.
fn points(id: &str) -> Vec<(u8, u64)> {
    let (_, shape) = case(id);
    let n: u64 = if shape.is_empty() { u64::MAX } else { shape.iter().map(|&d| d as u64).product() };
    let mut points = vec![(0u8, 5u64), (1, if n > (1 << 33) { (1 << 33) + 3 } else { n - 1 })];
    points.push((2, if n > (1 << 34) { (1 << 34) - 1 } else { n / 2 + 1 }));
    match id {
        "eye" => points.extend([(0, 0), (1, 71)]),
        "dirac" => points.extend([(0, 4), (1, 5 * 54 + 9 + 4)]),
        _ => {}
    }
    points
}

/// Every case at every point, as `PINS` rows from the current CPU backend.
fn derived_pins() -> Vec<String> {
    let mut rows = Vec::new();
    for id in CASES {
        for (which, index) in points(id) {
            let fill = fill_of(id, which);
            let (f, h, b) = (
                cpu_bits(&fill, index, Dtype::F32),
                cpu_bits(&fill, index, Dtype::F16),
                cpu_bits(&fill, index, Dtype::Bf16),
            );
            rows.push(format!("(\"{id}\", {which}, {index}, 0x{f:08x}, 0x{h:04x}, 0x{b:04x}),"));
        }
    }
    rows
}

#[test]
fn every_scheme_and_point_is_pinned() {
    let pinned: Vec<String> = PINS
        .iter()
        .map(|(id, which, index, f, h, b)| format!("(\"{id}\", {which}, {index}, 0x{f:08x}, 0x{h:04x}, 0x{b:04x}),"))
        .collect();
    let derived = derived_pins();
    // On a contract change, this prints the table to paste (once the other tests have checked it
    // against the independent reference).
    assert!(pinned == derived, "{}\n{}", changed("the pinned table"), derived.join("\n"));
}
