//! Portable f32 `ln` and `sincos`, written so that the CPU and every GPU evaluate the same
//! sequence of f32 operations.
//!
//! WGSL only promises `sin`/`cos` to an absolute 2^-11 and `log` to 2^-21, and CPUs' libm differs
//! from GPUs' built-ins, so Box-Muller uses these instead. The polynomials are Cephes' `logf`,
//! `sinf` and `cosf` (about 1 ulp). Arguments are reduced exactly in integer arithmetic.
//!
//! The WGSL twin of this file is `shaders/lib/mathf.wgsl`; both take their coefficients from
//! `constants.rs`.

use super::constants::{COS_POLY, EXP_POLY, LN2_HI, LN2_LO, LN_POLY, LOG2_E, SIN_POLY, SQRT_2, TWO_PI_OVER_2_24};

/// Horner's rule, highest coefficient first: the twin of the WGSL's unrolled chains.
#[inline(always)]
pub(crate) fn horner<const N: usize>(x: f32, c: &[f32; N]) -> f32 {
    let mut acc = c[0];
    for &k in &c[1..] {
        acc = acc * x + k;
    }
    acc
}

/// `ln(x)` for positive, finite, normal `x`, with Cephes' `logf` polynomial (about 1 ulp).
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    // Mantissa in [1, 2), then moved to [sqrt(1/2), sqrt(2)).
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let f = m - 1.0; // exact (Sterbenz)
    let z = f * f;
    let p = horner(f, &LN_POLY);
    let ef = e as f32;
    let mut y = f * z * p;
    y += LN2_LO * ef;
    y += -0.5 * z;
    let r = f + y;
    r + LN2_HI * ef
}

/// `e^x` for `-87 < x < 88`, with Cephes' `expf` polynomial (about 1 ulp); no panic outside.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let n = (x * LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let z = r * r;
    let p = horner(r, &EXP_POLY);
    let y = p * z + r + 1.0;
    // 2^n from the bits of n + 1.5 * 2^23, which is exact for |n| < 2^22 and holds n in its low
    // bits: the same value as `(n as i32 + 127) << 23` in this domain, and it vectorizes (Rust's
    // saturating `as i32` is compiled one lane at a time). Outside the domain (lanes whose result
    // a caller discards) the value is unspecified.
    let biased = (n + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000 - 127);
    y * f32::from_bits(biased << 23)
}

/// `ln(1 + x)` for `-1 < x <= 0`, accurate for small `|x|` (Goldberg's correction of `ln(1 + x)`).
#[inline(always)]
pub fn ln_1p(x: f32) -> f32 {
    let y = 1.0 + x;
    if y == 1.0 {
        x
    } else {
        ln(y) * (x / (y - 1.0))
    }
}

/// `(sin, cos)` of `2 pi k / 2^24` for a 24-bit `k` (`k < 2^24`).
///
/// The quadrant and the octant fold are exact integer operations, so the polynomials only ever
/// see angles in `[0, pi/4]`.
#[inline(always)]
pub fn sincos_turn24(k: u32) -> (f32, f32) {
    let quadrant = k >> 22;
    let f = k & 0x003f_ffff;
    let folded = f > 0x0020_0000;
    let g = if folded { 0x0040_0000 - f } else { f };
    let x = g as f32 * TWO_PI_OVER_2_24;
    let z = x * x;
    let sin_x = horner(z, &SIN_POLY) * z * x + x;
    let cos_x = horner(z, &COS_POLY) * z * z - 0.5 * z + 1.0;
    // Angle within the quadrant: x, or pi/2 - x when folded.
    let (sq, cq) = if folded { (cos_x, sin_x) } else { (sin_x, cos_x) };
    // Quadrant q adds q * pi/2: odd quadrants swap sin and cos; sin is negative in quadrants 2
    // and 3, cos in 1 and 2. Branch-free (sign flips are exact), so the CPU loop vectorizes.
    let (s, c) = if quadrant & 1 == 1 { (cq, sq) } else { (sq, cq) };
    let sin_sign = (quadrant & 2) << 30;
    let cos_sign = ((quadrant + 1) & 2) << 30;
    (f32::from_bits(s.to_bits() ^ sin_sign), f32::from_bits(c.to_bits() ^ cos_sign))
}

/// The Rust twin of `shaders/lib/mathf.wgsl`'s correctly rounded division and square root from
/// an adapter's estimate (the CPU's own `/` and `sqrt` are correctly rounded and need none): the
/// estimate's 24-bit significand is corrected with exact integer arithmetic, and tested here with
/// estimates up to 60 ulp off. Step for step as the shader, which has no `if` (see there).
#[cfg(test)]
mod rounding_twin {
    /// The 24-bit significand of positive `y` as seen from the binade of 2^e (biased): its own
    /// when `y` lies in that binade, else the nearest end of it.
    fn significand_in(y: f32, e: i32) -> i32 {
        let ye = ((y.to_bits() >> 23) & 0xff) as i32;
        let own = ((y.to_bits() & 0x007f_ffff) | 0x0080_0000) as i32;
        if ye > e {
            0x00ff_ffff
        } else if ye < e {
            0x0080_0000
        } else {
            own
        }
    }

    fn is_normal_exponent(e: i32) -> bool {
        (1..=254).contains(&e)
    }

    pub(super) fn div_rn_from(a: f32, b: f32, q0: f32) -> f32 {
        let (ea, eb) = (((a.to_bits() >> 23) & 0xff) as i32, ((b.to_bits() >> 23) & 0xff) as i32);
        let ma = ((a.to_bits() & 0x007f_ffff) | 0x0080_0000) as i32;
        let mb = ((b.to_bits() & 0x007f_ffff) | 0x0080_0000) as i32;
        let below = i32::from(ma < mb);
        let eq = ea - eb + 127 - below;
        let q = significand_in(q0.abs(), eq);
        // R = a / ulp(q) / (b / ulp(b)) - q m_b: (m_a << (23 + below)) - q m_b, mod 2^32.
        let r = (ma << (23 + below)).wrapping_sub(q.wrapping_mul(mb));
        let j = (r as f32 / mb as f32).round_ties_even() as i32;
        let (q, r) = (q.wrapping_add(j), r.wrapping_sub(j.wrapping_mul(mb)));
        let q = q + i32::from(2 * r > mb) - i32::from(2 * r < -mb);
        let usable = a.is_normal() && b.is_normal() && is_normal_exponent(eq);
        if usable {
            let sign = (a.to_bits() ^ b.to_bits()) & 0x8000_0000;
            f32::from_bits((((eq as u32) << 23) + (q as u32 - 0x0080_0000)) | sign)
        } else {
            q0
        }
    }

    pub(super) fn sqrt_rn_from(x: f32, r0: f32) -> f32 {
        let e = ((x.to_bits() >> 23) & 0xff) as i32 - 127;
        let mx = ((x.to_bits() & 0x007f_ffff) | 0x0080_0000) as i32;
        let er = (e >> 1) + 127;
        let m = significand_in(r0.abs(), er);
        // D = x / ulp(r)^2 - m^2: (m_x << (23 + odd e)) - m^2, mod 2^32.
        let d = (mx << (23 + (e & 1))).wrapping_sub(m.wrapping_mul(m));
        let j = (d as f32 / (2 * m) as f32).round_ties_even() as i32;
        let d = d.wrapping_sub(2i32.wrapping_mul(j).wrapping_mul(m)).wrapping_sub(j.wrapping_mul(j));
        let m = m.wrapping_add(j);
        let m = m + i32::from(d > m) - i32::from(d <= -m);
        if x > 0.0 && x.is_normal() {
            f32::from_bits(((er as u32) << 23) + (m as u32 - 0x0080_0000))
        } else {
            r0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Estimates off by up to 60 ulp, over random operands, mantissa edges (m = 2^23, 2^24 - 1)
    /// and power-of-two results: corrected to the CPU's correctly rounded `/` and `sqrt`.
    #[test]
    fn division_and_sqrt_are_corrected_to_correct_rounding() {
        let nudge = |x: f32, k: i32| f32::from_bits((x.to_bits() as i32 + k) as u32);
        let stream = crate::Stream::new(5, 5);
        let mut operands = vec![(1.0f32, 1.0f32), (4.0, 2.0), (1.0, 3.0), (8_388_608.0, 3.0), (16_777_215.0, 7.0)];
        for b in 0..20_000u64 {
            let w = stream.block(b);
            let f = |w: u32| f32::from_bits(0x3000_0000 + w % 0x1f00_0000);
            operands.push((f(w[0]), f(w[1])));
            operands.push((f32::from_bits(0x3f80_0000 | (w[2] & 0x7f)), f32::from_bits(0x3f80_0000 | (w[3] >> 25))));
        }
        for &(a, b) in &operands {
            for k in (-3..=3).chain([-60, -17, 11, 60]) {
                let (q, r) = (a / b, a.sqrt());
                assert_eq!(rounding_twin::div_rn_from(a, b, nudge(q, k)), q, "{a} / {b}, estimate {k} ulp off");
                assert_eq!(rounding_twin::div_rn_from(-a, b, -nudge(q, k)), -q, "-{a} / {b}");
                assert_eq!(rounding_twin::sqrt_rn_from(a, nudge(r, k)), r, "sqrt {a}, estimate {k} ulp off");
            }
        }
    }

    #[test]
    fn ln_is_within_two_ulps_of_libm() {
        let mut worst = 0.0f64;
        for i in 1..200_000u32 {
            let x = f32::from_bits(0x2e80_0000 + i.wrapping_mul(2_654_435_761) % 0x1100_0000);
            let exact = f64::from(x).ln();
            let err = (f64::from(ln(x)) - exact).abs() / ulp(exact);
            worst = worst.max(err);
        }
        assert!(worst <= 2.0, "worst ln error {worst} ulp");
    }

    #[test]
    fn sincos_is_accurate_on_every_sixteenth_step() {
        let mut worst = 0.0f64;
        for k in (0..1u32 << 24).step_by(16).chain([1, 0x3f_ffff, 0x40_0000, 0xff_ffff]) {
            let theta = std::f64::consts::TAU * f64::from(k) / 16_777_216.0;
            let (s, c) = sincos_turn24(k);
            worst = worst.max((f64::from(s) - theta.sin()).abs()).max((f64::from(c) - theta.cos()).abs());
        }
        assert!(worst < 2.0e-7, "worst sincos absolute error {worst}");
    }

    #[test]
    fn exp_and_ln_1p_are_accurate() {
        for i in 0..20_000 {
            let x = -20.0 + i as f32 * 0.001;
            let e = f64::from(x).exp();
            assert!((f64::from(exp(x)) - e).abs() <= 2.0 * ulp(e), "exp({x})");
        }
        for i in 1..20_000 {
            let x = -(i as f32) / 20_000.0 * 0.999_9;
            let t = -(10f32).powf(-(i as f32) / 2000.0);
            for x in [x, t] {
                let e = f64::from(x).ln_1p();
                assert!((f64::from(ln_1p(x)) - e).abs() <= 4.0 * ulp(e), "ln_1p({x}) {} vs {e}", ln_1p(x));
            }
        }
    }

    fn ulp(x: f64) -> f64 {
        let x = (x as f32).abs();
        (f32::from_bits(x.to_bits() + 1) - x) as f64
    }
}
