//! The per-element operations that both backends evaluate, with their parameters in f32.

use crate::contract::diagonal::DiagonalParams;
use crate::contract::trunc_normal::TruncNormalParams;

/// The per-element operation the kernels run, with parameters already in f32.
///
/// The GPU kernel (`shaders/fill.wgsl`) and the CPU's batch evaluator ([`super::batch`]) execute
/// exactly these operations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    /// The raw 32-bit word of each element (for testing streams and for piping them elsewhere).
    Bits,
    /// `a + span * u`, `u` the unit uniform.
    Uniform {
        /// Lower bound.
        a: f32,
        /// `b - a`, rounded to f32.
        span: f32,
    },
    /// `mean + std * z`, `z` from Box-Muller on the block's word pairs.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// The truncated normal by inverse CDF (see [`super::trunc_normal`]).
    TruncNormal(TruncNormalParams),
    /// Ones on a generalized diagonal (`eye`, `dirac`), zeros elsewhere; no generator is evaluated.
    Diagonal(DiagonalParams),
    /// The same value everywhere; no generator is evaluated.
    Constant {
        /// The value.
        val: f32,
    },
}
