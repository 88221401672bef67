//! The batch evaluator: an [`Op`] over a run of elements on one thread, Philox in lanes the
//! compiler vectorizes, then the op.
//!
//! This is the CPU twin of `shaders/fill.wgsl`'s per-block work, used by the CPU backend and by
//! the host-side work of `orthogonal` and `sparse`. It is compiled once per instruction set
//! (AVX-512, AVX2, baseline) and picked at run time, so no `-C target-cpu` flag is needed.

use super::constants::{PHILOX_M0 as M0, PHILOX_M1 as M1, PHILOX_ROUNDS, PHILOX_W0 as W0, PHILOX_W1 as W1};
use super::isa::Lanes;
use super::op::Op;
use super::quantile;
use super::stream::{split_u64, Stream};
use super::trunc_normal::{self, trunc_normal, TruncNormalParams};
use super::values;

/// Blocks evaluated side by side.
pub(crate) const LANES: usize = 64;

super::isa::dispatch_by_isa! {
    /// Writes the 32-bit outputs (f32 bit patterns, or raw words for [`Op::Bits`]) of logical
    /// elements `first .. first + out.len()` of `op` on `stream` into `out`, with `variant`'s code.
    pub(crate) fn fill_words(out: &mut [u32], first: u64, op: &Op, stream: Stream) => fill_words_generic
}

super::isa::dispatch_by_isa! {
    /// [`fill_words`], with the elements that `mask` marks set to zero (sparse): bit `i % 32` of
    /// word `i / 32` is element `i`'s, and marks a zero when `zeros_marked`, a kept value
    /// otherwise. Drawn and masked in pieces that stay in L1 (masking the whole range after
    /// drawing it was a second pass through memory, a quarter of the time).
    pub(crate) fn fill_masked_words(
        out: &mut [u32],
        first: u64,
        op: &Op,
        stream: Stream,
        mask: &[u32],
        zeros_marked: bool,
    ) => fill_masked_words_generic
}

/// Elements a piece of [`fill_masked_words`], pieces starting on multiples of it: whole
/// `LANES` runs of blocks and whole mask words.
const MASKED_PIECE: u64 = 4096;

#[inline(always)]
fn fill_masked_words_generic<V: Lanes>(
    out: &mut [u32],
    first: u64,
    op: &Op,
    stream: Stream,
    mask: &[u32],
    zeros_marked: bool,
) {
    // Each mask word, flipped so that a set bit keeps the value.
    let flip = if zeros_marked { u32::MAX } else { 0 };
    let keep = |i: u64| (mask[(i / 32) as usize] ^ flip) >> (i % 32) & 1;
    let mut done = 0usize;
    while done < out.len() {
        let at = first + done as u64;
        let end = ((at / MASKED_PIECE + 1) * MASKED_PIECE - first).min(out.len() as u64) as usize;
        let piece = &mut out[done..end];
        fill_words_generic::<V>(piece, at, op, stream);
        // Element by element up to a mask word's start, then 32 at a time.
        let head = (at.next_multiple_of(32) - at).min(piece.len() as u64) as usize;
        let (head, words) = piece.split_at_mut(head);
        for (k, x) in head.iter_mut().enumerate() {
            *x &= 0u32.wrapping_sub(keep(at + k as u64));
        }
        let first_word = (at + head.len() as u64) / 32;
        for (j, part) in words.chunks_mut(32).enumerate() {
            let bits = mask[first_word as usize + j] ^ flip;
            for (b, x) in part.iter_mut().enumerate() {
                *x &= 0u32.wrapping_sub(bits >> b & 1);
            }
        }
        done = end;
    }
}

#[inline(always)]
fn fill_words_generic<V: Lanes>(out: &mut [u32], first: u64, op: &Op, stream: Stream) {
    match *op {
        Op::Constant { val } => out.fill(val.to_bits()),
        Op::Diagonal(d) => {
            out.fill(0);
            for i in d.ones_in(first..first + out.len() as u64) {
                out[(i - first) as usize] = 1f32.to_bits();
            }
        }
        Op::TruncNormal(p) => fill_lanes::<V>(out, first, stream, &TruncNormalWords(p)),
        Op::Bits => fill_blocks::<V>(out, first, stream, |w| w),
        Op::Uniform { a, span } => {
            fill_blocks::<V>(out, first, stream, |w| w.map(|w| values::uniform(w, a, span).to_bits()))
        }
        Op::Normal { mean, std } => fill_lanes::<V>(out, first, stream, &NormalPairs { mean, std }),
    }
}

/// Runs `op` on the Philox blocks covering the elements: word-major over `LANES` blocks (each of
/// the four words in an array of its own), then interleaved, so a long operation vectorizes
/// across blocks.
///
/// The operation is a [`LanesOp`] rather than a closure: its `#[inline(always)]` methods are
/// inlined into the caller, and so compiled with the caller's target features; a closure that
/// large is not inlined, and runs scalar.
#[inline(always)]
fn fill_lanes<V: Lanes>(out: &mut [u32], first: u64, stream: Stream, op: &impl LanesOp) {
    let lead = ((4 - first % 4) % 4).min(out.len() as u64) as usize;
    let whole = (out.len() - lead) / (4 * LANES) * (4 * LANES);
    let (head, rest) = out.split_at_mut(lead);
    let (body, tail) = rest.split_at_mut(whole);
    fill_blocks::<V>(head, first, stream, |w| op.block(w));
    let key = stream.key();
    let [s0, s1] = split_u64(stream.stream);
    let mut block = (first + lead as u64) / 4;
    let mut words = [[0u32; LANES]; 4];
    for dst in body.chunks_exact_mut(4 * LANES) {
        V::philox_lanes(block, s0, s1, key, &mut words);
        op.lanes(&mut words);
        for j in 0..LANES {
            dst[4 * j..4 * j + 4].copy_from_slice(&[words[0][j], words[1][j], words[2][j], words[3][j]]);
        }
        block += LANES as u64;
    }
    fill_blocks::<V>(tail, first + (lead + whole) as u64, stream, |w| op.block(w));
}

/// An operation on Philox blocks for [`fill_lanes`]: on one block, and in place on `LANES`
/// blocks stored word-major; both give the same values.
trait LanesOp {
    fn block(&self, words: [u32; 4]) -> [u32; 4];
    fn lanes(&self, words: &mut [[u32; LANES]; 4]);
}

/// `trunc_normal`'s f32 bits, word by word.
struct TruncNormalWords(TruncNormalParams);

impl LanesOp for TruncNormalWords {
    #[inline(always)]
    fn block(&self, words: [u32; 4]) -> [u32; 4] {
        words.map(|w| trunc_normal(w, &self.0).to_bits())
    }

    #[inline(always)]
    fn lanes(&self, words: &mut [[u32; LANES]; 4]) {
        // A copy outside the loop: inside it, a choice between two fields read through `self`
        // would be compiled as a choice of addresses and a gather.
        let params = self.0;
        // Stage by stage over the lane (see `trunc_normal::ln_p`).
        for lane in words.iter_mut() {
            let mut x = [0f32; LANES];
            let mut factor = [0f32; LANES];
            let mut region = [0u32; LANES];
            for (x, &w) in x.iter_mut().zip(lane.iter()) {
                *x = trunc_normal::ln_p(w, &params);
            }
            for j in 0..LANES {
                (x[j], factor[j], region[j]) = quantile::argument(x[j]);
            }
            // One choice of coefficients where no value is in the far tail, two otherwise.
            if region.iter().all(|&r| r != quantile::FAR) {
                for j in 0..LANES {
                    x[j] = quantile::rational_not_far(x[j], factor[j], region[j]);
                }
            } else {
                for j in 0..LANES {
                    x[j] = quantile::rational(x[j], factor[j], region[j]);
                }
            }
            for (w, &q) in lane.iter_mut().zip(&x) {
                *w = trunc_normal::from_quantile(*w, q, &params).to_bits();
            }
        }
    }
}

/// `normal(mean, std)`'s f32 bits: Box-Muller on word pairs (0, 1) and (2, 3) of each block.
struct NormalPairs {
    mean: f32,
    std: f32,
}

impl LanesOp for NormalPairs {
    #[inline(always)]
    fn block(&self, w: [u32; 4]) -> [u32; 4] {
        let (x0, x1) = values::normal_pair(w[0], w[1], self.mean, self.std);
        let (x2, x3) = values::normal_pair(w[2], w[3], self.mean, self.std);
        [x0.to_bits(), x1.to_bits(), x2.to_bits(), x3.to_bits()]
    }

    #[inline(always)]
    fn lanes(&self, words: &mut [[u32; LANES]; 4]) {
        let [w0, w1, w2, w3] = words;
        let (mean, std) = (self.mean, self.std);
        // In two stages over the lane (radius, then angle), as `TruncNormalWords`: shorter
        // dependency chains in flight; the same operations as `values::normal_pair`.
        for (even, odd) in [(w0, w1), (w2, w3)] {
            let mut r = [0f32; LANES];
            for (r, &w) in r.iter_mut().zip(even.iter()) {
                *r = values::radius(w);
            }
            for j in 0..LANES {
                let (z0, z1) = values::polar_to_pair(r[j], odd[j]);
                even[j] = values::scaled(z0, mean, std).to_bits();
                odd[j] = values::scaled(z1, mean, std).to_bits();
            }
        }
    }
}

/// Runs `block_op` on the Philox blocks covering the elements and keeps the words in range.
#[inline(always)]
fn fill_blocks<V: Lanes>(out: &mut [u32], first: u64, stream: Stream, block_op: impl Fn([u32; 4]) -> [u32; 4]) {
    let mut written = 0usize;
    // A leading partial block.
    let lead = (first % 4) as usize;
    if lead != 0 && !out.is_empty() {
        let words = block_op(stream.block(first / 4));
        let n = (4 - lead).min(out.len());
        out[..n].copy_from_slice(&words[lead..lead + n]);
        written = n;
    }
    // Whole groups of LANES blocks.
    let mut block = (first + written as u64) / 4;
    let key = stream.key();
    let [s0, s1] = split_u64(stream.stream);
    let mut words = [[0u32; LANES]; 4];
    while out.len() - written >= 4 * LANES {
        V::philox_lanes(block, s0, s1, key, &mut words);
        let dst = &mut out[written..written + 4 * LANES];
        for j in 0..LANES {
            let v = block_op([words[0][j], words[1][j], words[2][j], words[3][j]]);
            dst[4 * j..4 * j + 4].copy_from_slice(&v);
        }
        written += 4 * LANES;
        block += LANES as u64;
    }
    // Remaining blocks, the last one possibly partial.
    while written < out.len() {
        let words = block_op(stream.block(block));
        let n = 4.min(out.len() - written);
        out[written..written + n].copy_from_slice(&words[..n]);
        written += n;
        block += 1;
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
    let [c0, c1, c2, c3] = out;
    (*c0, *c1) = counters::<LANES>(block);
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
    use crate::contract::isa::CpuVariant;

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

    #[test]
    fn every_offset_and_length_matches_the_word_function() {
        let stream = Stream::new(5, 9);
        for first in [0u64, 1, 2, 3, 4, 5, 63, 64, 65, 1 << 33] {
            for len in [0usize, 1, 2, 3, 4, 5, 63, 64, 65, 200] {
                for variant in CpuVariant::supported() {
                    let mut out = vec![0u32; len];
                    fill_words(variant, &mut out, first, &Op::Bits, stream);
                    for (k, &w) in out.iter().enumerate() {
                        assert_eq!(w, stream.word(first + k as u64), "{variant:?} first {first} len {len} k {k}");
                    }
                }
            }
        }
    }
}
