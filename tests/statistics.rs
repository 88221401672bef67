//! Statistical checks of the distributions (Kolmogorov-Smirnov with fixed seeds), and the normal
//! values against an independent f64 Box-Muller on the same words.
//!
//! Threshold: a fixed seed fails if its KS p-value is below 0.001 (D above about 1.95 / sqrt(n)).

mod common;

use common::{cpu_words, flat};
use nninit::inspect::stats::{ks_p_value, ks_statistic, normal_cdf};
use nninit::{Dtype, Region, Scheme, Stream};

const P_MIN: f64 = 1e-3;
const N: usize = 1 << 20;

fn cpu_values(scheme: &Scheme, stream: Stream, first: u64, n: usize) -> Vec<f64> {
    cpu_words(&flat(scheme, stream), first, n).into_iter().map(|w| f64::from(f32::from_bits(w))).collect()
}

fn assert_ks(samples: &[f64], cdf: impl Fn(f64) -> f64, what: &str) {
    let d = ks_statistic(samples, cdf);
    let p = ks_p_value(d, samples.len());
    eprintln!("{what}: n {} D {d:.2e} p {p:.3}", samples.len());
    assert!(p > P_MIN, "{what}: KS D = {d}, p = {p}");
}

#[test]
fn uniform_passes_ks_on_cpu() {
    for (seed, a, b) in [(1u64, 0.0, 1.0), (2, -0.25, 0.75), (3, -3.0, 5.0)] {
        let x = cpu_values(&Scheme::uniform(a, b).unwrap(), Stream::new(seed, 0), 0, N);
        assert!(x.iter().all(|&v| v >= a && v < b));
        assert_ks(&x, |v| ((v - a) / (b - a)).clamp(0.0, 1.0), &format!("cpu uniform({a}, {b}) seed {seed}"));
    }
}

#[test]
fn normal_passes_ks_on_cpu_also_in_odd_ranges_and_streams() {
    for (seed, stream, first, mean, std) in
        [(1u64, 0u64, 0u64, 0.0, 1.0), (7, 3, 12_345, 0.5, 0.02), (8, u64::MAX, 1 << 50, -1.0, 3.0)]
    {
        let x = cpu_values(&Scheme::normal(mean, std).unwrap(), Stream::new(seed, stream), first, N);
        assert_ks(&x, |v| normal_cdf(v, mean, std), &format!("cpu normal({mean}, {std}) seed {seed}"));
    }
}

#[test]
fn streams_are_not_correlated() {
    // Uniforms of streams 0 and 1 of one seed, paired by index: the correlation of 2^20 pairs has
    // a standard error of 2^-10; allow 5 of them.
    let a = cpu_values(&Scheme::uniform(0.0, 1.0).unwrap(), Stream::new(9, 0), 0, N);
    let b = cpu_values(&Scheme::uniform(0.0, 1.0).unwrap(), Stream::new(9, 1), 0, N);
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - 0.5) * (y - 0.5)).sum::<f64>() / N as f64;
    let corr = cov / (1.0 / 12.0);
    assert!(corr.abs() < 5.0 / 1024.0, "correlation {corr}");
}

/// `N` f32 values from element `first`, filled on the GPU and read back.
fn gpu_values(ctx: &nninit::gpu::GpuContext, fill: &nninit::Fill, first: u64) -> Vec<f64> {
    let region = Region::Elements(first..first + N as u64);
    let bytes = ctx.filler.fill_to_host_blocking(fill, &region, Dtype::F32).unwrap();
    bytes.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect()
}

#[test]
fn gpu_values_pass_ks_on_every_adapter() {
    for ctx in common::contexts() {
        let name = nninit::gpu::describe(&ctx.info);
        let uniform = flat(&Scheme::uniform(-1.0, 1.0).unwrap(), Stream::new(31, 2));
        let x = gpu_values(ctx, &uniform, 5);
        assert_ks(&x, |v| ((v + 1.0) / 2.0).clamp(0.0, 1.0), &format!("{name} uniform"));
        let normal = flat(&Scheme::normal(0.0, 1.0).unwrap(), Stream::new(32, 2));
        let x = gpu_values(ctx, &normal, 3);
        assert_ks(&x, |v| normal_cdf(v, 0.0, 1.0), &format!("{name} normal"));
    }
}

#[test]
fn normal_values_match_an_f64_box_muller_on_the_same_words() {
    // Independent reference: the contract's formula in f64 with libm's ln, sqrt, sin and cos.
    let stream = Stream::new(77, 0);
    let n = 1 << 18;
    let x = cpu_values(&Scheme::normal(0.0, 1.0).unwrap(), stream, 0, n);
    let mut worst = 0.0f64;
    for (i, &got) in x.iter().enumerate() {
        let block = stream.block(i as u64 / 4);
        let pair = (i % 4) / 2 * 2;
        let u1 = f64::from(block[pair] as f32) * 2f64.powi(-32) + 2f64.powi(-33);
        let u1 = f64::from(u1 as f32);
        let u2 = f64::from(block[pair + 1] >> 8) * 2f64.powi(-24);
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        let exact = if i % 2 == 0 { r * theta.cos() } else { r * theta.sin() };
        worst = worst.max((got - exact).abs() / exact.abs().max(1.0));
    }
    eprintln!("normal vs f64 reference: worst relative error {worst:.2e}");
    assert!(worst < 4.0 * f64::from(f32::EPSILON), "worst {worst:e}");
}
