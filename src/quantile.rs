//! The standard normal quantile from the log of a lower-tail probability, in f32.
//!
//! Wichura's AS241 (PPND16) rational approximations, evaluated in f32. Taking `ln p` instead of
//! `p` keeps the tails exact down to `p` far below f32's range. The WGSL twin is
//! `shaders/quantile.wgsl`: keep in sync.

use crate::mathf;

/// `ln 0.075`: below it the tail branch applies (`|p - 0.5| > 0.425`).
pub const LN_CENTRAL_MIN: f32 = -2.590_267;

/// `Phi^-1(p)` for `p = e^ln_p <= 0.925`.
///
/// Branch-free: all three approximations (central, near tail, far tail) are evaluated and one is
/// selected, so loops over many values vectorize. Each value is computed exactly as the WGSL twin's branches compute it.
#[inline(always)]
pub fn normal_quantile_from_ln(ln_p: f32) -> f32 {
    let q = mathf::exp(ln_p) - 0.5;
    let r = 0.180_625 - q * q;
    let central = poly(r, &CENTRAL_NUM) * q / poly(r, &CENTRAL_DEN);

    let r = (-ln_p).max(0.0).sqrt();
    let near = -(poly(r - 1.6, &NEAR_NUM) / poly(r - 1.6, &NEAR_DEN));
    let far = -(poly(r - 5.0, &FAR_NUM) / poly(r - 5.0, &FAR_DEN));
    let tail = if r <= 5.0 { near } else { far };
    if ln_p >= LN_CENTRAL_MIN {
        central
    } else {
        tail
    }
}

/// Horner's rule, highest coefficient first.
#[inline(always)]
fn poly(x: f32, c: &[f32; 8]) -> f32 {
    let mut acc = c[0];
    for &k in &c[1..] {
        acc = acc * x + k;
    }
    acc
}

// AS241 coefficients, highest degree first, with Wichura's published digits; f64 literals rounded
// to f32 (as WGSL rounds them).
#[allow(clippy::excessive_precision)]
const CENTRAL_NUM: [f32; 8] = [
    2.509_080_928_730_122_7e3_f64 as f32,
    3.343_057_558_358_812_8e4_f64 as f32,
    6.726_577_092_700_870_1e4_f64 as f32,
    4.592_195_393_154_987_1e4_f64 as f32,
    1.373_169_376_550_946_1e4_f64 as f32,
    1.971_590_950_306_551_4e3_f64 as f32,
    1.331_416_678_917_843_8e2_f64 as f32,
    3.387_132_872_796_366_6_f64 as f32,
];
#[allow(clippy::excessive_precision)]
const CENTRAL_DEN: [f32; 8] = [
    5.226_495_278_852_854_6e3_f64 as f32,
    2.872_908_573_572_194_3e4_f64 as f32,
    3.930_789_580_009_271_1e4_f64 as f32,
    2.121_379_430_158_659_6e4_f64 as f32,
    5.394_196_021_424_751_1e3_f64 as f32,
    6.871_870_074_920_579_1e2_f64 as f32,
    4.231_333_070_160_091_1e1_f64 as f32,
    1.0,
];
#[allow(clippy::excessive_precision)]
const NEAR_NUM: [f32; 8] = [
    7.745_450_142_783_414_1e-4_f64 as f32,
    2.272_384_498_926_918_5e-2_f64 as f32,
    2.417_807_251_774_506_1e-1_f64 as f32,
    1.270_458_252_452_368_4_f64 as f32,
    3.647_848_324_763_204_6_f64 as f32,
    5.769_497_221_460_691_4_f64 as f32,
    4.630_337_846_156_545_3_f64 as f32,
    1.423_437_110_749_683_6_f64 as f32,
];
#[allow(clippy::excessive_precision)]
const NEAR_DEN: [f32; 8] = [
    1.050_750_071_644_416_8e-9_f64 as f32,
    5.475_938_084_995_344_9e-4_f64 as f32,
    1.519_866_656_361_645_7e-2_f64 as f32,
    1.481_039_764_274_800_7e-1_f64 as f32,
    6.897_673_349_851_000_0e-1_f64 as f32,
    1.676_384_830_183_803_8_f64 as f32,
    2.053_191_626_637_758_8_f64 as f32,
    1.0,
];
#[allow(clippy::excessive_precision)]
const FAR_NUM: [f32; 8] = [
    2.010_334_399_292_288_1e-7_f64 as f32,
    2.711_555_568_743_487_6e-5_f64 as f32,
    1.242_660_947_388_078_4e-3_f64 as f32,
    2.653_218_952_657_612_3e-2_f64 as f32,
    2.965_605_718_285_048_9e-1_f64 as f32,
    1.784_826_539_917_291_3_f64 as f32,
    5.463_784_911_164_114_4_f64 as f32,
    6.657_904_643_501_103_8_f64 as f32,
];
#[allow(clippy::excessive_precision)]
const FAR_DEN: [f32; 8] = [
    2.044_263_103_389_939_8e-15_f64 as f32,
    1.421_511_758_316_445_9e-7_f64 as f32,
    1.846_318_317_510_054_7e-5_f64 as f32,
    7.868_691_311_456_132_6e-4_f64 as f32,
    1.487_536_129_085_061_5e-2_f64 as f32,
    1.369_298_809_227_358_1e-1_f64 as f32,
    5.998_322_065_558_879_4e-1_f64 as f32,
    1.0,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::log_ndtr;

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
