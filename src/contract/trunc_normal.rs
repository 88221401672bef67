//! The truncated normal by an exact inverse CDF: one word per element, so it stays a pure function
//! of (seed, stream, index), with no pile-up at the bounds.
//!
//! With `alpha = (a - mean) / std`, `beta = (b - mean) / std` and `Z = Phi(beta) - Phi(alpha)`,
//! element `i` takes `u = ((w >> 9) + 0.5) * 2^-23` (in `(0, 1)`) and returns
//! `mean + std * Phi^-1(Phi(alpha) + u Z)`, clamped to `[a, b]` against rounding. The probability
//! is never formed directly: below the median the kernel uses
//! `ln p = ln Phi(beta) + ln(1 - (1 - u) kappa_lo)`, `kappa_lo = Z / Phi(beta)`, and above it the
//! mirror image with `Phi(-alpha)`, so tiny `std` (bounds at hundreds of std) and far one-sided
//! tails keep full f32 precision. The per-tensor constants are computed on the host in f64.
//!
//! The WGSL twin is `shaders/lib/trunc_normal.wgsl`; `build.rs` checks that its
//! `TruncNormalParams` has the members of this file's, at the same offsets.

use crate::contract::mathf;
use crate::contract::quantile::normal_quantile_from_ln;
use crate::contract::stats::{log_ndtr, normal_cdf};
use crate::error::{Error, Result};

/// Beyond this many std from the mean, the whole interval is out of reach (f64's `Phi` and the
/// quantile's accuracy end there).
pub const MAX_TAIL: f64 = 37.0;

/// The per-tensor constants of a truncated normal, in f32, as the kernels read them: the WGSL
/// struct of the same name has the same members in the same order (checked at build time).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TruncNormalParams {
    /// `(a - mean) / std`, finite (infinite bounds become `-f32::MAX` / `f32::MAX`).
    pub alpha: f32,
    /// `(b - mean) / std`, finite.
    pub beta: f32,
    /// `ln Phi(beta)`.
    pub ln_cdf_beta: f32,
    /// `Z / Phi(beta)`.
    pub kappa_lo: f32,
    /// `ln Phi(-alpha)`.
    pub ln_sf_alpha: f32,
    /// `Z / Phi(-alpha)`.
    pub kappa_hi: f32,
    /// `u` below which the lower form is used (the median of the truncated distribution).
    pub u_split: f32,
    /// Mean.
    pub mean: f32,
    /// Standard deviation (`sd`: WGSL reserves `std`).
    pub sd: f32,
    /// Lower bound, finite.
    pub a: f32,
    /// Upper bound, finite.
    pub b: f32,
}

impl TruncNormalParams {
    /// The constants for `trunc_normal_(mean, std, a, b)`.
    pub fn new(mean: f64, std: f64, a: f64, b: f64) -> Result<Self> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if !mean.is_finite() || !std.is_finite() || std <= 0.0 {
            return bad(format!(
                "trunc_normal_ expects a finite mean and std > 0, but found mean={mean} and std={std}"
            ));
        }
        if a.is_nan() || b.is_nan() || a >= b {
            return bad(format!("trunc_normal_ expects a < b, but found a={a} and b={b}"));
        }
        let clamp32 = |x: f64| x.clamp(f64::from(f32::MIN), f64::from(f32::MAX));
        if clamp32(a) >= clamp32(b) || (mean as f32).is_infinite() || (std as f32) == 0.0 {
            return bad(format!(
                "trunc_normal_ expects a < b, mean and std > 0 in f32, but found a={a}, b={b}, mean={mean}, std={std}"
            ));
        }
        let alpha = (a - mean) / std;
        let beta = (b - mean) / std;
        if alpha > MAX_TAIL || beta < -MAX_TAIL {
            return bad(format!(
                "trunc_normal_: [a, b] = [{a}, {b}] lies more than {MAX_TAIL} std from the mean {mean}"
            ));
        }
        let (ln_cdf_alpha, ln_cdf_beta) = (log_ndtr(alpha), log_ndtr(beta));
        let (ln_sf_alpha, ln_sf_beta) = (log_ndtr(-alpha), log_ndtr(-beta));
        // Z / Phi(beta) = 1 - Phi(alpha) / Phi(beta), and its mirror image.
        let kappa_lo = -(ln_cdf_alpha - ln_cdf_beta).exp_m1();
        let kappa_hi = -(ln_sf_beta - ln_sf_alpha).exp_m1();
        let u_split = if beta <= 0.0 {
            1.0
        } else if alpha >= 0.0 {
            0.0
        } else {
            let lower = normal_cdf(alpha, 0.0, 1.0);
            let z = 1.0 - lower - normal_cdf(-beta, 0.0, 1.0);
            ((0.5 - lower) / z).clamp(0.0, 1.0)
        };
        Ok(Self {
            alpha: clamp32(alpha) as f32,
            beta: clamp32(beta) as f32,
            ln_cdf_beta: ln_cdf_beta as f32,
            kappa_lo: kappa_lo as f32,
            ln_sf_alpha: ln_sf_alpha as f32,
            kappa_hi: kappa_hi as f32,
            u_split: u_split as f32,
            mean: mean as f32,
            sd: std as f32,
            a: clamp32(a) as f32,
            b: clamp32(b) as f32,
        })
    }

    /// The constants in memory order, as the kernel's parameter vectors hold them.
    pub fn to_floats(self) -> [f32; 12] {
        let mut out = [0f32; 12];
        out[..11].copy_from_slice(bytemuck::cast_slice(bytemuck::bytes_of(&self)));
        out
    }
}

/// `u = ((w >> 9) + 0.5) * 2^-23`: exact, in `(0, 1)`, symmetric under `u -> 1 - u`.
#[inline(always)]
pub fn open_unit(word: u32) -> f32 {
    ((word >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// The truncated normal value of one word: [`ln_p`], then the quantile, then [`from_quantile`].
///
/// The two tails' formulas differ only in their inputs, which are selected before one
/// evaluation, so the CPU loop is branch-free and vectorizes; the WGSL twin branches.
#[inline(always)]
pub fn trunc_normal(word: u32, p: &TruncNormalParams) -> f32 {
    from_quantile(word, normal_quantile_from_ln(ln_p(word, p)), p)
}

/// `ln p` for the word: the log of the standard normal probability whose quantile the element is
/// (the lower tail's, or the upper tail's below the median of the truncated distribution).
///
/// With [`from_quantile`], the stages of [`trunc_normal`]: a loop over many words runs each stage
/// over all of them in turn, so that many short dependency chains, not one long one, are in
/// flight (`batch.rs`); the values are the same.
#[inline(always)]
pub fn ln_p(word: u32, p: &TruncNormalParams) -> f32 {
    let TruncNormalParams { ln_cdf_beta, kappa_lo, ln_sf_alpha, kappa_hi, u_split, .. } = *p;
    let u = open_unit(word);
    let lower = u < u_split;
    let ln_start = if lower { ln_cdf_beta } else { ln_sf_alpha };
    let kappa = if lower { kappa_lo } else { kappa_hi };
    let v = if lower { 1.0 - u } else { u };
    ln_start + mathf::ln_1p(-(v * kappa))
}

/// The element from its word and `q = Phi^-1(p)` of the word's [`ln_p`].
#[inline(always)]
pub fn from_quantile(word: u32, q: f32, p: &TruncNormalParams) -> f32 {
    let lower = open_unit(word) < p.u_split;
    let z = if lower { q } else { -q };
    // `max` then `min`, as WGSL's `clamp` (f32::clamp's bounds check would stop vectorization).
    let z = z.max(p.alpha).min(p.beta);
    (p.mean + p.sd * z).max(p.a).min(p.b)
}
