//! Philox4x32-10, the counter-based generator behind every nninit stream.
//!
//! This is the generator of Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11),
//! with the Random123 constants. It is a pure function of a 128-bit counter and a 64-bit key, so any
//! block of the stream can be computed independently, on any backend, in any order.
//!
//! The WGSL twin of this file is `shaders/lib/philox.wgsl`; the constants are shared through
//! `constants.rs`.

use super::constants::{PHILOX_M0 as M0, PHILOX_M1 as M1, PHILOX_ROUNDS, PHILOX_W0 as W0, PHILOX_W1 as W1};

/// The high and low 32-bit halves of the 64-bit product `a * b`.
#[inline(always)]
pub(crate) fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let product = u64::from(a) * u64::from(b);
    ((product >> 32) as u32, product as u32)
}

/// One Philox round on a counter under a round key.
#[inline(always)]
fn round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(M0, ctr[0]);
    let (hi1, lo1) = mulhilo(M1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Philox's rounds, as an array length.
pub(crate) const ROUNDS: usize = PHILOX_ROUNDS as usize;

/// The key schedule, the one copy every evaluator uses: round 1 uses the raw key, and the key is
/// bumped by (`W0`, `W1`) before each later round.
#[inline(always)]
pub(crate) fn round_keys(key: [u32; 2]) -> [[u32; 2]; ROUNDS] {
    let mut keys = [key; ROUNDS];
    for r in 1..ROUNDS {
        keys[r] = [keys[r - 1][0].wrapping_add(W0), keys[r - 1][1].wrapping_add(W1)];
    }
    keys
}

/// Philox4x32-10: four 32-bit output words for one counter under one key.
#[inline(always)]
pub(crate) fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    round_keys(key).into_iter().fold(counter, round)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three known-answer vectors of Random123's `kat_vectors` for philox4x32 with 10 rounds.
    pub(crate) const KAT: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        ([0; 4], [0; 2], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
        ([u32::MAX; 4], [u32::MAX; 2], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];

    #[test]
    fn random123_known_answers() {
        for (ctr, key, expected) in KAT {
            assert_eq!(philox4x32_10(ctr, key), expected, "ctr {ctr:08x?} key {key:08x?}");
        }
    }

    #[test]
    fn mulhilo_matches_u128_product() {
        for &(a, b) in &[(0u32, 0u32), (u32::MAX, u32::MAX), (M0, 0xdead_beef), (1, u32::MAX)] {
            let p = u128::from(a) * u128::from(b);
            assert_eq!(mulhilo(a, b), ((p >> 32) as u32, p as u32));
        }
    }
}
