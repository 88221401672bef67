//! The batch evaluator: an [`Op`] over a run of elements on one thread, Philox in lanes the
//! compiler vectorizes, then the op.
//!
//! This is the CPU twin of `shaders/fill.wgsl`'s per-block work, used by the CPU backend and by
//! the host-side work of `orthogonal` and `sparse`. It is compiled once per instruction set
//! (AVX-512, AVX2, baseline) and picked at run time, so no `-C target-cpu` flag is needed.

use super::lanes::{Lanes, LANES};
use super::op::Op;
use super::quantile;
use super::stream::{split_u64, Stream};
use super::trunc_normal::{self, trunc_normal, TruncNormalParams};
use super::values;

super::isa::dispatch_by_isa! {
    /// Writes the 32-bit outputs (f32 bit patterns, or raw words for [`Op::Bits`]) of logical
    /// elements `first .. first + out.len()` of `op` on `stream` into `out`, with `variant`'s code.
    pub(crate) fn fill_words(out: &mut [u32], first: u64, op: &Op, stream: Stream) => fill_words_generic
}

super::isa::dispatch_by_isa! {
    /// [`fill_words`], with the elements that `mask` marks set to zero (sparse): bit `i % 32` of
    /// word `i / 32` is element `i`'s, and marks a zero when `zeros_marked`, a kept value
    /// otherwise. Drawn and masked in pieces that stay in L1 (masking the whole range after
    /// drawing it was a second pass through memory, a quarter of the time); a normal piece with
    /// few kept values makes only those (see [`fill_kept_normal`]).
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
        if let Op::Normal { mean, std } = *op {
            let words = &mask[(at / 32) as usize..(first + end as u64).div_ceil(32) as usize];
            let kept: u32 = words.iter().map(|w| (w ^ flip).count_ones()).sum();
            if GATHER_BELOW * (kept as usize) < piece.len() {
                fill_kept_normal::<V>(piece, at, &NormalPairs { mean, std }, stream, mask, flip);
                done = end;
                continue;
            }
        }
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

/// The share of kept values below which a piece of a masked normal fill is made by
/// [`fill_kept_normal`] rather than everywhere and then masked: one in `GATHER_BELOW`. On a
/// 2-core AMD EPYC (Zen 3, AVX2), a 4096² `sparse_` fill took the same time either way with 30%
/// of its values kept, and longer by gathering with 40% (40 to 54 ms against 30 to 39).
const GATHER_BELOW: usize = 4;

/// The normal values of the elements `first .. first + out.len()` that `mask ^ flip` keeps, and
/// zeros elsewhere, with only the kept elements' values made: their word pairs are gathered 64 at
/// a time, Philox runs on their blocks (`philox_lanes_at`), and Box-Muller on the pairs. Each
/// value is the one [`fill_words`] makes for its element; at `sparse_`'s usual 90% zeros, a
/// fifth of the pairs and a third of the blocks are evaluated.
#[inline(always)]
fn fill_kept_normal<V: Lanes>(
    out: &mut [u32],
    first: u64,
    normal: &NormalPairs,
    stream: Stream,
    mask: &[u32],
    flip: u32,
) {
    out.fill(0);
    let end = first + out.len() as u64;
    let mut gathered = KeptPairs { pairs: [0; LANES], kept: [0; LANES], words: [[0; LANES]; 4] };
    let mut n = 0;
    // 64 elements at a time (two mask words): a loop over a word's kept pairs mispredicts its
    // exit once a word.
    let flip = u64::from(flip) << 32 | u64::from(flip);
    let word = |w: u64| mask.get(w as usize).map_or(0, |&m| u64::from(m));
    for c in first / 64..end.div_ceil(64) {
        let base = c * 64;
        let mut bits = (word(2 * c) | word(2 * c + 1) << 32) ^ flip;
        if base < first {
            bits &= u64::MAX << (first - base);
        }
        if end < base + 64 {
            bits &= u64::MAX >> (base + 64 - end);
        }
        // Bit 2i set for each pair i of these 64 elements with a kept element.
        let mut needed = (bits | bits >> 1) & 0x5555_5555_5555_5555;
        while needed != 0 {
            let b = needed.trailing_zeros();
            needed &= needed - 1;
            (gathered.pairs[n], gathered.kept[n]) = ((base + u64::from(b)) / 2, (bits >> b & 3) as u32);
            n += 1;
            if n == LANES {
                gathered.write::<V>(n, normal, stream, out, first);
                n = 0;
            }
        }
    }
    if n > 0 {
        gathered.write::<V>(n, normal, stream, out, first);
    }
}

/// Word pairs gathered by [`fill_kept_normal`]: pair `pairs[j]` (elements `2 pairs[j]` and
/// `2 pairs[j] + 1`), whose element `2 pairs[j] + k` is kept where bit `k` of `kept[j]` is set.
struct KeptPairs {
    pairs: [u64; LANES],
    kept: [u32; LANES],
    /// Philox's words for the pairs' blocks.
    words: [[u32; LANES]; 4],
}

impl KeptPairs {
    /// Writes the kept values of the first `n` pairs into `out` (element `first` at `out[0]`).
    /// A method, not a closure: inlined into the caller, it is compiled with its target features.
    #[inline(always)]
    fn write<V: Lanes>(&mut self, n: usize, normal: &NormalPairs, stream: Stream, out: &mut [u32], first: u64) {
        let [s0, s1] = split_u64(stream.stream);
        let blocks: [u64; LANES] = std::array::from_fn(|j| self.pairs[j] / 2);
        let counters = [blocks.map(|b| b as u32), blocks.map(|b| (b >> 32) as u32)];
        V::philox_lanes_at(&counters, s0, s1, stream.key(), &mut self.words);
        let [w0, w1, w2, w3] = &self.words;
        let second: [bool; LANES] = std::array::from_fn(|j| self.pairs[j] % 2 == 1);
        let mut even: [u32; LANES] = std::array::from_fn(|j| if second[j] { w2[j] } else { w0[j] });
        let mut odd: [u32; LANES] = std::array::from_fn(|j| if second[j] { w3[j] } else { w1[j] });
        normal.pair_lanes(&mut even, &mut odd);
        let end = first + out.len() as u64;
        for j in 0..n {
            let (element, kept) = (2 * self.pairs[j], self.kept[j]);
            // Both elements, the one not kept as zero (branches on which one is kept mispredict).
            let (zero_even, zero_odd) = ((kept & 1).wrapping_sub(1), (kept >> 1).wrapping_sub(1));
            if element >= first && element + 1 < end {
                let at = (element - first) as usize;
                out[at..at + 2].copy_from_slice(&[even[j] & !zero_even, odd[j] & !zero_odd]);
            } else if kept & 1 != 0 {
                // A pair across an end of the range: only its kept element is in range.
                out[(element - first) as usize] = even[j];
            } else {
                out[(element + 1 - first) as usize] = odd[j];
            }
        }
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
        self.pair_lanes(w0, w1);
        self.pair_lanes(w2, w3);
    }
}

impl NormalPairs {
    /// The values of the word pairs `(even[j], odd[j])`, in place. In two stages over the lane
    /// (radius, then angle), as `TruncNormalWords`: shorter dependency chains in flight; the same
    /// operations as `values::normal_pair`.
    #[inline(always)]
    fn pair_lanes(&self, even: &mut [u32; LANES], odd: &mut [u32; LANES]) {
        let (mean, std) = (self.mean, self.std);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::isa::CpuVariant;

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

    #[test]
    fn masked_normal_fills_equal_the_fill_masked_afterwards() {
        // Masks from 2% to 50% kept (pieces made by gathering the kept pairs and pieces made
        // whole, see GATHER_BELOW), either polarity; ranges starting on odd elements, inside a
        // Philox block and a mask word, and crossing pieces.
        let stream = Stream::new(17, 4);
        let op = Op::Normal { mean: 0.5, std: 2.0 };
        for (first, len) in [(0u64, 20_000usize), (1, 9000), (4097, 4096), (3, 1), ((1 << 20) + 4093, 8300)] {
            let words = (first + len as u64).div_ceil(32) as usize;
            for kept_in_256 in [5u32, 32, 63, 64, 128] {
                for zeros_marked in [false, true] {
                    let mut mask = vec![0u32; words];
                    let mut draws = vec![0u32; 32 * (words - (first / 32) as usize)];
                    fill_words(CpuVariant::Baseline, &mut draws, first / 32 * 32, &Op::Bits, Stream::new(3, 3));
                    for (i, w) in draws.iter().enumerate() {
                        let element = (first / 32 * 32) as usize + i;
                        let kept = w >> 24 < kept_in_256;
                        if kept != zeros_marked {
                            mask[element / 32] |= 1 << (element % 32);
                        }
                    }
                    let mut want = vec![0u32; len];
                    fill_words(CpuVariant::Baseline, &mut want, first, &op, stream);
                    for (k, x) in want.iter_mut().enumerate() {
                        let i = first as usize + k;
                        if (mask[i / 32] >> (i % 32) & 1 == 1) == zeros_marked {
                            *x = 0;
                        }
                    }
                    for variant in CpuVariant::supported() {
                        let mut got = vec![u32::MAX; len];
                        fill_masked_words(variant, &mut got, first, &op, stream, &mask, zeros_marked);
                        assert!(
                            got == want,
                            "{variant:?} first {first} len {len}: {kept_in_256}/256 kept, zeros_marked {zeros_marked}"
                        );
                    }
                }
            }
        }
    }
}
