//! From raw words to values: the unit uniform, `uniform(a, b)` and Box-Muller `normal`.
//!
//! These functions define every value nninit produces; the CPU backend calls them, and the WGSL
//! twin (`shaders/lib/values.wgsl`) evaluates the same f32 operations.

use crate::contract::mathf;

/// `2^-24`.
pub const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;
/// `2^-32`.
pub const TWO_POW_M32: f32 = 1.0 / 4_294_967_296.0;
/// `2^-33`.
pub const TWO_POW_M33: f32 = 1.0 / 8_589_934_592.0;

/// The unit uniform of a word: `(w >> 8) * 2^-24`, exact, in `[0, 1)`.
#[inline(always)]
pub fn unit_uniform(word: u32) -> f32 {
    (word >> 8) as f32 * TWO_POW_M24
}

/// `a + (b - a) * u` in f32, given `a` and `span = b - a` (both f32), without fused multiply-add.
#[inline(always)]
pub fn uniform(word: u32, a: f32, span: f32) -> f32 {
    a + span * unit_uniform(word)
}

/// Box-Muller on a word pair: two standard normal values.
///
/// `u1 = f32(w_even) * 2^-32 + 2^-33` (in `(0, 1]`), `u2 = (w_odd >> 8) * 2^-24`,
/// `r = sqrt(-2 ln u1)`, result `(r cos(2 pi u2), r sin(2 pi u2))`.
#[inline(always)]
pub fn standard_normal_pair(w_even: u32, w_odd: u32) -> (f32, f32) {
    polar_to_pair(radius(w_even), w_odd)
}

/// Box-Muller's radius `sqrt(-2 ln u1)` from the even word: the first stage of
/// [`standard_normal_pair`] (a loop over many pairs may run the stages one after the other).
#[inline(always)]
pub fn radius(w_even: u32) -> f32 {
    let u1 = w_even as f32 * TWO_POW_M32 + TWO_POW_M33;
    (-2.0 * mathf::ln(u1)).sqrt()
}

/// The second stage of [`standard_normal_pair`]: `(r cos(2 pi u2), r sin(2 pi u2))`.
#[inline(always)]
pub fn polar_to_pair(r: f32, w_odd: u32) -> (f32, f32) {
    let (sin, cos) = mathf::sincos_turn24(w_odd >> 8);
    (r * cos, r * sin)
}

/// `normal(mean, std)` on a word pair: `mean + std * z` for each standard normal `z`.
#[inline(always)]
pub fn normal_pair(w_even: u32, w_odd: u32, mean: f32, std: f32) -> (f32, f32) {
    let (z0, z1) = standard_normal_pair(w_even, w_odd);
    (scaled(z0, mean, std), scaled(z1, mean, std))
}

/// `mean + std * z`: a standard normal value moved and scaled (two roundings, no FMA).
#[inline(always)]
pub fn scaled(z: f32, mean: f32, std: f32) -> f32 {
    mean + std * z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_uniform_bit_patterns() {
        assert_eq!(unit_uniform(0), 0.0);
        assert_eq!(unit_uniform(0xff), 0.0);
        assert_eq!(unit_uniform(0x100), TWO_POW_M24);
        assert_eq!(unit_uniform(0x8000_0000), 0.5);
        assert_eq!(unit_uniform(u32::MAX), 1.0 - TWO_POW_M24);
    }

    #[test]
    fn box_muller_edges() {
        // w_even = u32::MAX rounds to 2^32, so u1 = 1 and r = 0.
        assert_eq!(standard_normal_pair(u32::MAX, 12345), (0.0, 0.0));
        // w_even = 0 gives the largest radius, sqrt(-2 ln 2^-33).
        let (z0, z1) = standard_normal_pair(0, 0);
        let r_max = (-2.0 * (2f64.powi(-33)).ln()).sqrt();
        assert!((f64::from(z0) - r_max).abs() < 1e-5 && z1 == 0.0, "{z0} {z1}");
        // A quarter turn: cos = 0 (to rounding), sin = 1.
        let (c, s) = standard_normal_pair(0, 0x4000_0000);
        assert!(c.abs() < 1e-6 && (f64::from(s) - r_max).abs() < 1e-5);
    }
}
