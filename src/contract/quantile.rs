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
use super::mathf::{self, horner};

/// `Phi^-1(p)` for `p = e^ln_p <= 0.925`.
///
/// Branch-free: all three approximations (central, near tail, far tail) are evaluated and one is
/// selected, so loops over many values vectorize. Each value is computed exactly as the WGSL twin's branches compute it.
#[inline(always)]
pub fn normal_quantile_from_ln(ln_p: f32) -> f32 {
    let q = mathf::exp(ln_p) - 0.5;
    let r = 0.180_625 - q * q;
    let central = horner(r, &CENTRAL_NUM) * q / horner(r, &CENTRAL_DEN);

    let r = (-ln_p).max(0.0).sqrt();
    let near = -(horner(r - 1.6, &NEAR_NUM) / horner(r - 1.6, &NEAR_DEN));
    let far = -(horner(r - 5.0, &FAR_NUM) / horner(r - 5.0, &FAR_DEN));
    let tail = if r <= 5.0 { near } else { far };
    if ln_p >= LN_CENTRAL_MIN {
        central
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
