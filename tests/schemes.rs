//! Every scheme: exact structures (eye, dirac), orthogonality and its sign convention, sparse zero
//! counts and positions (chi-square), KS tests against the exact distributions, and every scheme
//! on every GPU adapter against the CPU backend.
//!
//! Thresholds: KS fails below p = 0.001; chi-square fails above its 0.001 critical value.

mod common;

use nninit::cpu::CpuBackend;
use nninit::inspect::stats::{ks_p_value, ks_statistic, normal_cdf};
use nninit::{Dtype, Fill, Plan, Region, Scheme, Stream};

fn cpu_init(init: &Scheme, shape: &[usize], stream: Stream) -> Vec<f32> {
    let fill = Fill::new(init, shape, stream).unwrap();
    let mut out = vec![f32::NAN; fill.elements().unwrap() as usize];
    CpuBackend::new().fill(&fill, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut out)).unwrap();
    out
}

fn assert_ks(samples: &[f32], cdf: impl Fn(f64) -> f64, what: &str) {
    let x: Vec<f64> = samples.iter().map(|&v| f64::from(v)).collect();
    let d = ks_statistic(&x, cdf);
    let p = ks_p_value(d, x.len());
    eprintln!("{what}: n {} D {d:.2e} p {p:.3}", x.len());
    assert!(p > 1e-3, "{what}: KS D = {d}, p = {p}");
}

/// PyTorch's eye_ / dirac_ written out as loops.
fn torch_dirac(shape: &[usize], groups: usize) -> Vec<f32> {
    let mut t = vec![0f32; shape.iter().product()];
    let spatial: Vec<usize> = shape[2..].to_vec();
    let strides: Vec<usize> = (0..shape.len()).map(|d| shape[d + 1..].iter().product()).collect();
    let opg = shape[0] / groups;
    for g in 0..groups {
        for d in 0..opg.min(shape[1]) {
            let mut i = (g * opg + d) * strides[0] + d * strides[1];
            for (k, &size) in spatial.iter().enumerate() {
                i += size / 2 * strides[k + 2];
            }
            t[i] = 1.0;
        }
    }
    t
}

#[test]
fn eye_and_dirac_are_exact() {
    for (rows, cols) in [(3, 5), (5, 3), (4, 4), (1, 7)] {
        let t = cpu_init(&Scheme::eye(), &[rows, cols], Stream::default());
        let expected: Vec<f32> = (0..rows * cols).map(|i| f32::from(u8::from(i / cols == i % cols))).collect();
        assert_eq!(t, expected, "eye {rows}x{cols}");
    }
    for (shape, groups) in [
        (&[4usize, 4, 3][..], 1usize),
        (&[6, 4, 3, 3], 2),
        (&[8, 2, 3, 3], 4),
        (&[4, 6, 3, 5, 2], 2),
        (&[3, 3, 1, 1], 3),
        (&[2, 5, 4, 4], 1),
    ] {
        let t = cpu_init(&Scheme::dirac(groups as u64).unwrap(), shape, Stream::default());
        assert_eq!(t, torch_dirac(shape, groups), "dirac {shape:?} groups {groups}");
    }
}

fn matmul_t(a: &[f32], rows: usize, cols: usize, transpose_first: bool) -> Vec<f64> {
    // transpose_first: A^T A (cols x cols); else A A^T (rows x rows).
    let n = if transpose_first { cols } else { rows };
    let mut out = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = if transpose_first {
                (0..rows).map(|r| f64::from(a[r * cols + i]) * f64::from(a[r * cols + j])).sum()
            } else {
                (0..cols).map(|c| f64::from(a[i * cols + c]) * f64::from(a[j * cols + c])).sum()
            };
        }
    }
    out
}

#[test]
fn orthogonal_is_orthogonal_with_torch_signs() {
    for (shape, gain) in [(&[40usize, 30][..], 1.0f64), (&[30, 40], 2.0), (&[16, 4, 3, 3], 0.5), (&[64, 64], 1.0)] {
        let stream = Stream::new(5, 1);
        let q = cpu_init(&Scheme::orthogonal(gain).unwrap(), shape, stream);
        let rows = shape[0];
        let cols = q.len() / rows;
        let gram = matmul_t(&q, rows, cols, rows >= cols);
        let n = rows.min(cols);
        let worst =
            (0..n * n).map(|k| (gram[k] - if k / n == k % n { gain * gain } else { 0.0 }).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-5 * gain * gain, "{shape:?}: |QtQ - g^2 I| = {worst}");
        // Sign convention: with A the stream's Gaussian matrix (transposed if wide), Q^T A = D R
        // has a non-negative diagonal.
        let a = cpu_init(&Scheme::normal(0.0, 1.0).unwrap(), &[rows, cols], stream);
        for j in 0..n {
            let d: f64 = if rows >= cols {
                (0..rows).map(|r| f64::from(q[r * cols + j]) * f64::from(a[r * cols + j])).sum()
            } else {
                (0..cols).map(|c| f64::from(q[j * cols + c]) * f64::from(a[j * cols + c])).sum()
            };
            assert!(d > 0.0, "{shape:?}: diagonal {j} of Q^T A is {d}");
        }
    }
}

#[test]
fn sparse_has_exact_zero_counts_and_uniform_positions() {
    // 10 rows: 3 zeros per column (minority drawn) and 9 per column (majority: non-zeros drawn).
    for (sparsity, zeros) in [(0.3, 3usize), (0.81, 9)] {
        let (rows, cols) = (10usize, 20_000usize);
        let t = cpu_init(&Scheme::sparse(sparsity, 0.5).unwrap(), &[rows, cols], Stream::new(17, 0));
        let mut per_row = vec![0f64; rows];
        for c in 0..cols {
            let z: Vec<usize> = (0..rows).filter(|&r| t[r * cols + c] == 0.0).collect();
            assert_eq!(z.len(), zeros, "column {c}");
            for r in z {
                per_row[r] += 1.0;
            }
        }
        // Chi-square of zero counts per row, 9 degrees of freedom: critical value 27.88 at 0.001.
        let expected = (cols * zeros) as f64 / rows as f64;
        let chi2: f64 = per_row.iter().map(|o| (o - expected).powi(2) / expected).sum();
        assert!(chi2 < 27.88, "sparsity {sparsity}: chi-square {chi2}");
        // Every 3-subset equally likely: chi-square over the 120 subsets of a 10-row, 3-zero column
        // (119 degrees of freedom: critical value 173.6 at 0.001).
        if zeros == 3 {
            let mut counts = std::collections::HashMap::new();
            for c in 0..cols {
                let key: Vec<usize> = (0..rows).filter(|&r| t[r * cols + c] == 0.0).collect();
                *counts.entry(key).or_insert(0f64) += 1.0;
            }
            assert_eq!(counts.len(), 120);
            let e = cols as f64 / 120.0;
            let chi2: f64 = counts.values().map(|o| (o - e).powi(2) / e).sum();
            assert!(chi2 < 173.6, "subsets chi-square {chi2}");
        }
        // The non-zeros are the normal fill's values at the same positions.
        let normal = cpu_init(&Scheme::normal(0.0, 0.5).unwrap(), &[rows, cols], Stream::new(17, 0));
        assert!(t.iter().zip(&normal).all(|(s, n)| *s == 0.0 || s == n));
    }
    // Sparsity 0 and 1.
    assert!(cpu_init(&Scheme::sparse(0.0, 1.0).unwrap(), &[5, 7], Stream::default()).iter().all(|&x| x != 0.0));
    assert!(cpu_init(&Scheme::sparse(1.0, 1.0).unwrap(), &[5, 7], Stream::default()).iter().all(|&x| x == 0.0));
}

/// The CDF of the standard normal truncated to [alpha, beta] (the library's, itself checked
/// against numerical integration of the density in its unit tests).
fn trunc_cdf(x: f64, alpha: f64, beta: f64) -> f64 {
    nninit::inspect::stats::trunc_normal_cdf(x, 0.0, 1.0, alpha, beta)
}

#[test]
fn trunc_normal_matches_the_exact_distribution_without_pile_up() {
    let n = 1 << 20;
    let cases = [
        (0.0, 1.0, -2.0, 2.0),
        (0.0, 0.02, -2.0, 2.0),
        (0.5, 2.0, -1.0, 4.0),
        (0.0, 1.0, 3.0, f64::INFINITY),
        (0.0, 1.0, 10.0, f64::INFINITY),
        (1.0, 1.0, f64::NEG_INFINITY, -24.0),
        (0.0, 1.0, 6.0, 6.5),
        (0.0, 1.0, -0.1, 0.1),
    ];
    for (i, (mean, std, a, b)) in cases.into_iter().enumerate() {
        let x = cpu_init(&Scheme::trunc_normal(mean, std, a, b).unwrap(), &[n], Stream::new(100 + i as u64, 0));
        let (lo, hi) = (a as f32, b as f32);
        assert!(x.iter().all(|&v| v >= lo && v <= hi), "case {i}: value outside [a, b]");
        let at_bounds = x.iter().filter(|&&v| v == lo || v == hi).count();
        assert!(at_bounds <= 2, "case {i}: {at_bounds} values sit on the bounds");
        let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
        assert_ks(&x, |v| trunc_cdf((v - mean) / std, alpha, beta), &format!("trunc_normal({mean}, {std}, {a}, {b})"));
    }
}

#[test]
fn variance_scaled_schemes_match_their_distributions() {
    let shape = [1024usize, 256, 2, 2];
    let cases = [
        Scheme::xavier_uniform(1.0).unwrap(),
        Scheme::xavier_normal(5.0 / 3.0).unwrap(),
        Scheme::kaiming_uniform(0.0, "fan_in", "leaky_relu").unwrap(),
        Scheme::kaiming_normal(0.0, "fan_out", "relu").unwrap(),
    ];
    for (i, init) in cases.iter().enumerate() {
        let plan = Plan::new(init, &shape).unwrap();
        let x = cpu_init(init, &shape, Stream::new(7, i as u64));
        match plan.bound() {
            Some(bound) => assert_ks(&x, |v| ((v + bound) / (2.0 * bound)).clamp(0.0, 1.0), init.name()),
            None => {
                let std = plan.std().unwrap();
                assert_ks(&x, |v| normal_cdf(v, 0.0, std), init.name())
            }
        }
    }
}

#[test]
fn every_scheme_on_every_adapter_matches_the_cpu() {
    let cases: Vec<(Scheme, Vec<usize>)> = vec![
        (Scheme::uniform(-0.5, 0.5).unwrap(), vec![37, 41]),
        (Scheme::normal(1.0, 0.1).unwrap(), vec![37, 41]),
        (Scheme::trunc_normal(0.0, 0.02, -2.0, 2.0).unwrap(), vec![1001, 3]),
        (Scheme::trunc_normal(0.0, 1.0, 5.0, f64::INFINITY).unwrap(), vec![1001, 3]),
        (Scheme::constant(0.25).unwrap(), vec![7, 9]),
        (Scheme::ones(), vec![3, 3]),
        (Scheme::zeros(), vec![3, 3]),
        (Scheme::eye(), vec![33, 65]),
        (Scheme::dirac(2).unwrap(), vec![8, 6, 3, 3]),
        (Scheme::dirac(1).unwrap(), vec![4, 4, 3, 3, 3]),
        (Scheme::xavier_uniform(1.0).unwrap(), vec![64, 32, 3, 3]),
        (Scheme::xavier_normal(1.0).unwrap(), vec![64, 32]),
        (Scheme::kaiming_uniform(0.1, "fan_in", "leaky_relu").unwrap(), vec![64, 32, 3, 3]),
        (Scheme::kaiming_normal(0.0, "fan_out", "relu").unwrap(), vec![64, 32, 3, 3]),
        (Scheme::orthogonal(1.5).unwrap(), vec![48, 20]),
        (Scheme::sparse(0.9, 0.01).unwrap(), vec![100, 77]),
        (Scheme::sparse(0.2, 0.01).unwrap(), vec![100, 77]),
    ];
    for ctx in common::contexts() {
        for (init, shape) in &cases {
            let plan = Plan::new(init, shape).unwrap();
            let stream = Stream::new(12, 3);
            let n = plan.elements();
            let cpu = cpu_init(init, shape, stream);
            let fill = Fill::from_plan(&plan, stream).unwrap();
            // The whole tensor, and an odd sub-range of it.
            for range in [0..n, 3..n - 5] {
                let region = Region::Elements(range.clone());
                let gpu = ctx.filler.fill_to_host_blocking(&fill, &region, Dtype::F32).unwrap();
                let gpu = gpu.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                for (k, (g, c)) in gpu.zip(&cpu[range.start as usize..range.end as usize]).enumerate() {
                    let g = f32::from_bits(g);
                    // Every scheme is bit-identical, normal-derived ones included.
                    assert!(
                        g.to_bits() == c.to_bits(),
                        "{:?} {init:?} element {}: {g} vs {c}",
                        ctx.info.backend,
                        range.start + k as u64
                    );
                    assert_eq!(g == 0.0, *c == 0.0, "{init:?}: zeros differ at {}", range.start + k as u64);
                }
            }
        }
    }
}
