//! Statistics for checking fills: the normal CDF and the Kolmogorov-Smirnov test.

/// The error function, to about 1e-14 (series below 2.5, continued fraction above).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return -erf(-x);
    }
    if x < 2.5 {
        // erf x = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        for n in 1..200 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        1.0 - erfc_large(x)
    }
}

/// `erfc(x)` for `x >= 2.5`, by the Laplace continued fraction (Lentz's method).
fn erfc_large(x: f64) -> f64 {
    ln_erfc_large(x).exp()
}

/// `ln erfc(x)` for `x >= 2.5`, without underflow for any finite `x`.
fn ln_erfc_large(x: f64) -> f64 {
    // erfc x = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
    let tiny = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..500 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    -x * x - 0.5 * std::f64::consts::PI.ln() - f.ln()
}

/// `ln Phi(x)`, the log of the standard normal CDF, accurate in both tails and without underflow.
pub fn log_ndtr(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    if x == f64::INFINITY {
        0.0
    } else if x == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x > 0.0 {
        (-normal_cdf(-x, 0.0, 1.0)).ln_1p()
    } else if z < -2.5 {
        std::f64::consts::LN_2.mul_add(-1.0, ln_erfc_large(-z))
    } else {
        normal_cdf(x, 0.0, 1.0).ln()
    }
}

/// The CDF of `normal(mean, std)` at `x`.
pub fn normal_cdf(x: f64, mean: f64, std: f64) -> f64 {
    let z = (x - mean) / (std * std::f64::consts::SQRT_2);
    if z < -2.5 {
        0.5 * erfc_large(-z)
    } else {
        0.5 * (1.0 + erf(z))
    }
}

/// The CDF of `normal(mean, std)` truncated to `[a, b]` at `x`, through log forms so far tails
/// keep their precision.
pub fn trunc_normal_cdf(x: f64, mean: f64, std: f64, a: f64, b: f64) -> f64 {
    let (z, alpha, beta) = ((x - mean) / std, (a - mean) / std, (b - mean) / std);
    if z <= alpha {
        return 0.0;
    }
    if z >= beta {
        return 1.0;
    }
    if alpha >= 0.0 {
        let base = log_ndtr(-alpha);
        (log_ndtr(-z) - base).exp_m1() / (log_ndtr(-beta) - base).exp_m1()
    } else if beta <= 0.0 {
        let base = log_ndtr(beta);
        let lo = (log_ndtr(alpha) - base).exp();
        ((log_ndtr(z) - base).exp() - lo) / (1.0 - lo)
    } else {
        let lo = normal_cdf(alpha, 0.0, 1.0);
        (normal_cdf(z, 0.0, 1.0) - lo) / (normal_cdf(beta, 0.0, 1.0) - lo)
    }
}

/// The Kolmogorov-Smirnov statistic `D` of values rounded to a grid (f32, f16, bf16) against
/// the exact CDF of the rounded distribution: a value `v` stands for the interval `cell(v) = (lo,
/// hi)` of reals that round to it, so the rounded variable's CDF is `cdf(hi)` at `v` and `cdf(lo)`
/// just below. With `cell(v) = (v, v)` it is the continuous statistic. A NaN sample counts as
/// beyond every value (its own run, where the CDF is 1).
pub fn ks_statistic_rounded(samples: &[f64], cdf: impl Fn(f64) -> f64, cell: impl Fn(f64) -> (f64, f64)) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mut d = 0.0f64;
    let mut i = 0;
    while i < sorted.len() {
        let v = sorted[i];
        // Equal by bits, so a run always has at least one member (NaN != NaN).
        let run = sorted[i..].iter().take_while(|&&x| x.to_bits() == v.to_bits()).count().max(1);
        let j = i + run;
        if v.is_nan() {
            d = d.max((1.0 - i as f64 / n).abs());
            i = j;
            continue;
        }
        let (lo, hi) = cell(v);
        d = d.max((cdf(lo) - i as f64 / n).abs()).max((cdf(hi) - j as f64 / n).abs());
        i = j;
    }
    d
}

/// The Kolmogorov-Smirnov statistic `D` of `samples` against the continuous CDF `cdf`.
pub fn ks_statistic(samples: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted.iter().enumerate().fold(0.0f64, |d, (i, &x)| {
        let f = if x.is_nan() { 1.0 } else { cdf(x) };
        d.max(f - i as f64 / n).max((i + 1) as f64 / n - f)
    })
}

/// The asymptotic p-value of a KS statistic `d` from `n` samples (Stephens' correction).
pub fn ks_p_value(d: f64, n: usize) -> f64 {
    let sn = (n as f64).sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..100 {
        let k = k as f64;
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k as u32 % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_known_values() {
        // Values from Abramowitz & Stegun, table 7.1, and erfc(3) = 2.209049699858544e-5.
        for (x, e) in [(0.5, 0.520_499_877_813_047), (1.0, 0.842_700_792_949_715), (2.0, 0.995_322_265_018_953)] {
            assert!((erf(x) - e).abs() < 1e-13, "erf({x})");
        }
        assert!((erfc_large(3.0) / 2.209_049_699_858_544e-5 - 1.0).abs() < 1e-12);
        assert!((normal_cdf(-1.959_963_984_540_054, 0.0, 1.0) - 0.025).abs() < 1e-13);
        // References from mpmath at 30 digits: ln Phi(-40), Phi(-5) and ln Phi(5).
        assert!((log_ndtr(-40.0) + 804.608_442_013_754).abs() < 1e-9);
        assert!((log_ndtr(-5.0) - 2.866_515_718_791_939e-7f64.ln()).abs() < 1e-12);
        assert!((log_ndtr(5.0) + 2.866_516_129_637_641_6e-7).abs() < 1e-20);
    }

    #[test]
    fn trunc_normal_cdf_matches_integrated_density() {
        // Simpson's rule on the standard normal density from the lower bound, normalized by the
        // integral over the whole interval (far tails: finite `b` far enough out).
        let density = |z: f64| (-0.5 * z * z).exp();
        let integral = |lo: f64, hi: f64| {
            let n = 20_000;
            let h = (hi - lo) / n as f64;
            (0..=n)
                .map(|i| {
                    density(lo + i as f64 * h)
                        * if i == 0 || i == n {
                            1.0
                        } else if i % 2 == 1 {
                            4.0
                        } else {
                            2.0
                        }
                })
                .sum::<f64>()
                * h
                / 3.0
        };
        for (a, b) in [(-2.0, 2.0), (-0.5, 3.0), (3.0, 12.0), (10.0, 20.0), (-25.0, -24.0), (-40.0, 0.5)] {
            let total = integral(a, b);
            for t in [0.1, 0.37, 0.5, 0.9] {
                let x = a + t * (b - a);
                let expected = integral(a, x) / total;
                let got = trunc_normal_cdf(x, 0.0, 1.0, a, b);
                assert!((got - expected).abs() < 1e-9, "[{a}, {b}] at {x}: {got} vs {expected}");
            }
        }
        // Location and scale.
        assert!(
            (trunc_normal_cdf(0.5 + 2.0 * 0.3, 0.5, 2.0, 0.5 - 2.0, 0.5 + 4.0)
                - trunc_normal_cdf(0.3, 0.0, 1.0, -1.0, 2.0))
            .abs()
                < 1e-15
        );
    }

    #[test]
    fn ks_p_values() {
        // The 5% and 0.1% critical values of the asymptotic distribution: 1.358 and 1.949.
        assert!((ks_p_value(1.358 / 1e3, 1_000_000) - 0.05).abs() < 1e-3);
        assert!((ks_p_value(1.949 / 1e3, 1_000_000) - 0.001).abs() < 1e-4);
    }
}
