//! What both backends execute: a per-element operation on a stream.

use crate::diagonal::DiagonalParams;
use crate::scheme::Scheme;
use crate::stream::Stream;
use crate::trunc_normal::TruncNormalParams;

/// The per-element operation the kernels run, with parameters already in f32.
///
/// Both the GPU kernels and the CPU backend execute exactly these operations.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Op {
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
    /// The truncated normal by inverse CDF (see [`crate::trunc_normal`]).
    TruncNormal(TruncNormalParams),
    /// Ones on a generalized diagonal (`eye`, `dirac`), zeros elsewhere; no generator is evaluated.
    Diagonal(DiagonalParams),
    /// The same value everywhere; no generator is evaluated.
    Constant {
        /// The value.
        val: f32,
    },
}

impl Op {
    /// Lowers a scheme to its f32 operation.
    pub fn from_scheme(scheme: &Scheme) -> Self {
        match *scheme {
            Scheme::Uniform { a, b } => {
                let (a, b) = (a as f32, b as f32);
                Op::Uniform { a, span: b - a }
            }
            Scheme::Normal { mean, std } => Op::Normal { mean: mean as f32, std: std as f32 },
            Scheme::TruncNormal { mean, std, a, b } => Op::TruncNormal(
                TruncNormalParams::new(mean, std, a, b).expect("Scheme::trunc_normal checked these parameters"),
            ),
            Scheme::Constant { val } => Op::Constant { val: val as f32 },
        }
    }
}

/// One fill: an operation and the stream its values come from.
///
/// ```
/// use nninit::{Fill, Scheme, Stream};
/// let fill = Fill::new(&Scheme::normal(0.0, 0.02)?, Stream::new(42, 0));
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    /// The operation.
    pub op: Op,
    /// The stream.
    pub stream: Stream,
}

impl Fill {
    /// A fill of `scheme` from `stream`.
    pub fn new(scheme: &Scheme, stream: Stream) -> Self {
        Self { op: Op::from_scheme(scheme), stream }
    }

    /// The raw words of `stream`.
    pub fn raw_bits(stream: Stream) -> Self {
        Self { op: Op::Bits, stream }
    }
}
