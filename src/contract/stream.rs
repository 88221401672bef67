//! The stream contract: which Philox block and word give each logical element.
//!
//! A tensor's values come from stream `s` under key `(seed & 0xffffffff, seed >> 32)`. Logical
//! element `i` (row-major) uses block `b = i / 4`, counter
//! `(b & 0xffffffff, b >> 32, s & 0xffffffff, s >> 32)`, and word `i % 4` of that block's output.
//! In a model, tensor `NAME` uses stream [`name_stream`]`(NAME)`.
//! This mapping is a public contract (see docs/contract.md); changing any value means bumping
//! [`STREAM_VERSION`].

use super::philox::philox4x32_10;

/// Version of the stream contract, recorded in output files' metadata. Any change to any value
/// nninit produces for a given (seed, stream, index, scheme, shape, dtype) bumps it.
pub const STREAM_VERSION: u32 = 1;

/// The stream number of the tensor named `name`: the 64-bit FNV-1a hash of its UTF-8 bytes
/// (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`). Part of the stream contract.
///
/// So a tensor's values depend only on the seed, its name, its shape and its scheme.
///
/// ```
/// assert_eq!(nninit::name_stream(""), 0xcbf29ce484222325);
/// assert_eq!(nninit::name_stream("a"), 0xaf63dc4c8601ec8c);
/// ```
pub fn name_stream(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3))
}

/// One stream of the generator: a seed and a stream number.
///
/// ```
/// use nninit::Stream;
/// let s = Stream::new(42, 0);
/// // Element 5 is word 1 of block 1.
/// assert_eq!(s.word(5), s.block(1)[1]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Stream {
    /// The 64-bit seed; it is Philox's key.
    pub seed: u64,
    /// The stream number; it fills the counter's upper half.
    pub stream: u64,
}

impl Stream {
    /// The stream `stream` of seed `seed`.
    pub const fn new(seed: u64, stream: u64) -> Self {
        Self { seed, stream }
    }

    /// Philox's key for this stream: `(seed & 0xffffffff, seed >> 32)`.
    pub const fn key(&self) -> [u32; 2] {
        split_u64(self.seed)
    }

    /// Philox's counter for block `b`: `(b & 0xffffffff, b >> 32, s & 0xffffffff, s >> 32)`.
    pub const fn counter(&self, block: u64) -> [u32; 4] {
        let [b0, b1] = split_u64(block);
        let [s0, s1] = split_u64(self.stream);
        [b0, b1, s0, s1]
    }

    /// The four raw words of block `b` (elements `4b .. 4b + 4`).
    #[inline]
    pub fn block(&self, block: u64) -> [u32; 4] {
        philox4x32_10(self.counter(block), self.key())
    }

    /// The raw word of logical element `i`.
    #[inline]
    pub fn word(&self, element: u64) -> u32 {
        self.block(element / 4)[(element % 4) as usize]
    }
}

/// `(x & 0xffffffff, x >> 32)`.
pub(crate) const fn split_u64(x: u64) -> [u32; 2] {
    [x as u32, (x >> 32) as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_and_key_layout() {
        let s = Stream::new(0x1122_3344_5566_7788, 0x99aa_bbcc_ddee_ff00);
        assert_eq!(s.key(), [0x5566_7788, 0x1122_3344]);
        assert_eq!(s.counter(0x0102_0304_0506_0708), [0x0506_0708, 0x0102_0304, 0xddee_ff00, 0x99aa_bbcc]);
    }

    #[test]
    fn word_is_block_word() {
        let s = Stream::new(7, 3);
        for i in [0u64, 1, 2, 3, 4, 5, 1023, (1 << 34) + 2] {
            assert_eq!(s.word(i), philox4x32_10(s.counter(i / 4), s.key())[(i % 4) as usize]);
        }
    }

    #[test]
    fn seed_zero_stream_zero_is_first_known_answer() {
        assert_eq!(Stream::new(0, 0).block(0), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    }
}
