//! The standard normal quantile from the log of a lower-tail probability, in f32.
//!
//! Wichura's AS241 (PPND16) rational approximations, evaluated in f32. Taking `ln p` instead of
//! `p` keeps the tails exact down to `p` far below f32's range. The WGSL twin is
//! `shaders/lib/quantile.wgsl`.

use super::constants::{
    LN_CENTRAL_MIN, QUANTILE_CENTRAL_DEN as CENTRAL_DEN, QUANTILE_CENTRAL_NUM as CENTRAL_NUM,
    QUANTILE_FAR_DEN as FAR_DEN, QUANTILE_FAR_NUM as FAR_NUM, QUANTILE_NEAR_DEN as NEAR_DEN,
    QUANTILE_NEAR_NUM as NEAR_NUM,
};
use super::mathf;

/// `Phi^-1(p)` for `p = e^ln_p <= 0.925`: [`argument`], then [`rational`].
///
/// Branch-free, so loops over many values vectorize, and with one rational function per value:
/// the region (central, near tail, far tail) picks the argument, the coefficients and the
/// numerator's factor (`q`, or `-1` for the tails' `-(num / den)`, which rounds identically), and
/// the one numerator, denominator and division follow. Each value is computed exactly as the WGSL
/// twin's branches compute it (`tests::selection_equals_the_branches` checks this bit for bit).
#[inline(always)]
pub fn normal_quantile_from_ln(ln_p: f32) -> f32 {
    let (x, factor, region) = argument(ln_p);
    rational(x, factor, region)
}

/// The region of `ln p`, as [`argument`] returns it.
pub const CENTRAL: u32 = 0;
/// The near tail, `sqrt(-ln p) <= 5`.
pub const NEAR: u32 = 1;
/// The far tail.
pub const FAR: u32 = 2;

/// The first stage of [`normal_quantile_from_ln`]: the rational function's argument, the
/// numerator's factor and the region ([`CENTRAL`], [`NEAR`] or [`FAR`]). A loop over many values
/// may run each stage over all of them in turn (shorter dependency chains); the values are the same.
#[inline(always)]
pub fn argument(ln_p: f32) -> (f32, f32, u32) {
    let central = ln_p >= LN_CENTRAL_MIN;
    let q = mathf::exp(ln_p) - 0.5;
    let r = (-ln_p).max(0.0).sqrt();
    let near = r <= 5.0;
    let x = if central {
        0.180_625 - q * q
    } else if near {
        r - 1.6
    } else {
        r - 5.0
    };
    let factor = if central { q } else { -1.0 };
    let region = if central {
        CENTRAL
    } else if near {
        NEAR
    } else {
        FAR
    };
    (x, factor, region)
}

/// The second stage of [`normal_quantile_from_ln`]: `num(x) * factor / den(x)` with the region's
/// coefficients, Horner's rule as `mathf::horner`.
#[inline(always)]
pub fn rational(x: f32, factor: f32, region: u32) -> f32 {
    let (central, near) = (region == CENTRAL, region == NEAR);
    let pick = |c: &[f32; 8], n: &[f32; 8], f: &[f32; 8], k: usize| select(central, c[k], select(near, n[k], f[k]));
    rational_of(
        x,
        factor,
        |k| pick(&CENTRAL_NUM, &NEAR_NUM, &FAR_NUM, k),
        |k| pick(&CENTRAL_DEN, &NEAR_DEN, &FAR_DEN, k),
    )
}

/// [`rational`] for a value that is not in the far tail (`region` != [`FAR`]): the same value,
/// with one choice of coefficients (central or near) where [`rational`] makes two. A loop over
/// many values takes it when none is in the far tail (`p` below `e^-25`, rare but for bounds far
/// out in a tail).
#[inline(always)]
pub fn rational_not_far(x: f32, factor: f32, region: u32) -> f32 {
    let central = region == CENTRAL;
    let pick = |c: &[f32; 8], n: &[f32; 8], k: usize| select(central, c[k], n[k]);
    rational_of(x, factor, |k| pick(&CENTRAL_NUM, &NEAR_NUM, k), |k| pick(&CENTRAL_DEN, &NEAR_DEN, k))
}

/// `num(x) * factor / den(x)`, the two degree-7 polynomials by Horner's rule from their `k`-th
/// coefficients (highest degree first): the evaluation [`rational`] and [`rational_not_far`] share.
#[inline(always)]
fn rational_of(x: f32, factor: f32, num_at: impl Fn(usize) -> f32, den_at: impl Fn(usize) -> f32) -> f32 {
    let (mut num, mut den) = (num_at(0), den_at(0));
    for k in 1..8 {
        num = num * x + num_at(k);
        den = den * x + den_at(k);
    }
    num * factor / den
}

/// `if c { a } else { b }`, written so that it compiles to a blend.
#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    if c {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::mathf::horner;
    use crate::contract::stats::log_ndtr;

    /// Inverts `log_ndtr` by bisection in f64: an independent reference.
    fn reference(ln_p: f64) -> f64 {
        let (mut lo, mut hi) = (-60.0f64, 2.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if log_ndtr(mid) < ln_p {
                lo = mid
            } else {
                hi = mid
            }
        }
        0.5 * (lo + hi)
    }

    /// The three regions as separate branches, as the WGSL twin (`quantile.wgsl`) writes them.
    fn branches(ln_p: f32) -> f32 {
        if ln_p >= LN_CENTRAL_MIN {
            let q = mathf::exp(ln_p) - 0.5;
            let r = 0.180_625 - q * q;
            return horner(r, &CENTRAL_NUM) * q / horner(r, &CENTRAL_DEN);
        }
        let r = (-ln_p).sqrt();
        if r <= 5.0 {
            -(horner(r - 1.6, &NEAR_NUM) / horner(r - 1.6, &NEAR_DEN))
        } else {
            -(horner(r - 5.0, &FAR_NUM) / horner(r - 5.0, &FAR_DEN))
        }
    }

    #[test]
    fn selection_equals_the_branches() {
        // Every 97th f32 from ln 0.925 down to -1500 (over a million values, every region
        // and both region boundaries' neighbourhoods), then the boundaries' own neighbours.
        let top = 0.925f32.ln().to_bits();
        let bottom = (-1500.0f32).to_bits();
        let mut values: Vec<f32> = (top..=bottom).step_by(97).map(f32::from_bits).collect();
        for edge in [LN_CENTRAL_MIN, -25.0] {
            let b = edge.to_bits();
            values.extend((b - 64..b + 64).map(f32::from_bits));
        }
        for ln_p in values {
            let (got, want) = (normal_quantile_from_ln(ln_p), branches(ln_p));
            assert_eq!(got.to_bits(), want.to_bits(), "ln p = {ln_p:e}: {got:e} against {want:e}");
        }
    }

    #[test]
    fn the_rational_without_the_far_tail_is_the_same_outside_it() {
        // Every 31st f32 from ln 0.925 down to the far tail's start (r = 5), and its neighbours.
        let top = 0.925f32.ln().to_bits();
        let bottom = (-25.0f32).to_bits();
        let values = (top..=bottom).step_by(31).chain(bottom - 64..bottom + 64).map(f32::from_bits);
        let mut near = 0;
        for ln_p in values {
            let (x, factor, region) = argument(ln_p);
            if region == FAR {
                continue;
            }
            near += usize::from(region == NEAR);
            let (got, want) = (rational_not_far(x, factor, region), rational(x, factor, region));
            assert_eq!(got.to_bits(), want.to_bits(), "ln p = {ln_p:e}");
        }
        assert!(near > 1000, "the near tail was reached {near} times");
    }

    #[test]
    fn matches_bisection_from_the_centre_to_far_tails() {
        let mut worst = 0.0f64;
        for i in 0..4000 {
            // ln p from ln 0.925 down to -1500 (p = e^-1500, beyond f64).
            let ln_p = 0.925f64.ln() - (i as f64 / 4000.0).powi(3) * 1500.0;
            let got = f64::from(normal_quantile_from_ln(ln_p as f32));
            let exact = reference(f64::from(ln_p as f32));
            worst = worst.max((got - exact).abs() / exact.abs().max(1.0));
        }
        assert!(worst < 1e-6, "worst relative error {worst:e}");
    }
}
