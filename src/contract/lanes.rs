//! Philox on many blocks at once, word-major, for the CPU backend's hot loops: the [`Lanes`]
//! trait every instruction-set variant implements (`isa.rs` defines the variants), and the
//! portable code it defaults to, which the compiler vectorizes.

use super::constants::{PHILOX_M0 as M0, PHILOX_M1 as M1, PHILOX_ROUNDS, PHILOX_W0 as W0, PHILOX_W1 as W1};

/// Blocks evaluated side by side.
pub(crate) const LANES: usize = 64;

/// What differs between variants beyond the compiler's flags: Philox on many blocks at once.
///
/// Implementations are only called from code compiled for their instruction set (the functions
/// that `dispatch_by_isa!` in `isa.rs` defines).
pub(crate) trait Lanes {
    /// Philox4x32-10 on blocks `block .. block + LANES`, word-major, into
    /// `out` (filled in place: an array returned by value was zeroed and copied on every call,
    /// 13% of a uniform fill's time with AVX2). By default the compiler's vectorization of
    /// [`philox_lanes_portable`].
    #[inline(always)]
    fn philox_lanes(block: u64, s0: u32, s1: u32, key: [u32; 2], out: &mut [[u32; LANES]; 4]) {
        philox_lanes_portable(block, s0, s1, key, out)
    }

    /// Philox4x32-10 on the blocks whose low and high counter halves are `counters[0][j]` and
    /// `counters[1][j]` (any blocks, in any order), word-major, into `out`.
    #[inline(always)]
    fn philox_lanes_at(counters: &[[u32; LANES]; 2], s0: u32, s1: u32, key: [u32; 2], out: &mut [[u32; LANES]; 4]) {
        philox_lanes_portable_at(counters, s0, s1, key, out)
    }
}

/// The low and high counter words of blocks `block .. block + N`.
#[inline(always)]
pub(crate) fn counters<const N: usize>(block: u64) -> ([u32; N], [u32; N]) {
    let (mut c0, mut c1) = ([0u32; N], [0u32; N]);
    for j in 0..N {
        let b = block.wrapping_add(j as u64);
        c0[j] = b as u32;
        c1[j] = (b >> 32) as u32;
    }
    (c0, c1)
}

/// Philox4x32-10 on blocks `block .. block + LANES`, word-major: `result[w][j]` is word `w` of
/// block `block + j`, written into `out`. Plain code that the compiler vectorizes: the baseline
/// variant's, twin of the explicit SIMD in `philox_x86.rs`.
#[inline(always)]
pub(crate) fn philox_lanes_portable(block: u64, s0: u32, s1: u32, key: [u32; 2], out: &mut [[u32; LANES]; 4]) {
    (out[0], out[1]) = counters::<LANES>(block);
    philox_rounds_portable(s0, s1, key, out);
}

/// [`philox_lanes_portable`] on the blocks whose low and high counter halves are
/// `counters[0][j]` and `counters[1][j]`.
#[inline(always)]
pub(crate) fn philox_lanes_portable_at(
    counters: &[[u32; LANES]; 2],
    s0: u32,
    s1: u32,
    key: [u32; 2],
    out: &mut [[u32; LANES]; 4],
) {
    [out[0], out[1]] = *counters;
    philox_rounds_portable(s0, s1, key, out);
}

/// Philox's ten rounds on `LANES` blocks whose counter words 0 and 1 are in `out[0]` and
/// `out[1]`, in place.
#[inline(always)]
fn philox_rounds_portable(s0: u32, s1: u32, key: [u32; 2], out: &mut [[u32; LANES]; 4]) {
    let [c0, c1, c2, c3] = out;
    c2.fill(s0);
    c3.fill(s1);
    // The key schedule of `philox::round_keys`, kept in two scalars: read from its array, this
    // loop ran 15% slower (uniform f32, AVX-512, one thread).
    let (mut k0, mut k1) = (key[0], key[1]);
    for r in 0..PHILOX_ROUNDS {
        if r > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        for j in 0..LANES {
            let p0 = u64::from(M0) * u64::from(c0[j]);
            let p1 = u64::from(M1) * u64::from(c2[j]);
            let n0 = (p1 >> 32) as u32 ^ c1[j] ^ k0;
            let n2 = (p0 >> 32) as u32 ^ c3[j] ^ k1;
            c0[j] = n0;
            c1[j] = p1 as u32;
            c2[j] = n2;
            c3[j] = p0 as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::stream::Stream;

    #[test]
    fn lanes_match_scalar_philox() {
        #![allow(clippy::needless_range_loop)]
        let stream = Stream::new(0xdead_beef_0123, 77);
        let mut words = [[0u32; LANES]; 4];
        philox_lanes_portable(u64::from(u32::MAX) - 3, 77, 0, stream.key(), &mut words);
        for j in 0..LANES {
            let expected = stream.block(u64::from(u32::MAX) - 3 + j as u64);
            assert_eq!([words[0][j], words[1][j], words[2][j], words[3][j]], expected);
        }
    }
}
