//! `sparse_`: normal values with exactly `ceil(sparsity * rows)` zeros in every column.
//!
//! Values are the stream's `normal(0, std)` values (element `r * cols + c`, as a normal fill).
//! Each column's zero rows are a uniformly random subset, drawn by Floyd's algorithm from the same
//! stream's raw words after the tensor: with `n = rows * cols` and `k` the smaller of the zero
//! count and the non-zero count, draw `m` (`0 <= m < k`) of column `c` uses the words at stream
//! positions `n + c * rows + 2m` (high) and `+ 2m + 1` (low), and the integer in `[0, j]` is
//! `((high << 32 | low) * (j + 1)) >> 64` (bias below `rows / 2^64`). When the zeros are the
//! majority, the drawn rows are the non-zero ones. Columns are drawn in parallel.

use crate::contract::batch;
use crate::contract::isa::CpuVariant;
use crate::contract::op::Op;
use crate::contract::stream::Stream;
use crate::error::{try_vec, Error, Result};

/// One bit per element of a `rows x cols` tensor (row-major): set for the drawn rows of each column.
#[derive(Clone, Debug)]
pub(crate) struct SparseMask {
    /// The bitmap, bit `i % 32` of word `i / 32` for element `i`.
    pub(crate) bits: Vec<u32>,
    /// Whether a set bit marks a zero (else it marks a non-zero).
    pub(crate) zeros_marked: bool,
}

/// The zero mask of `sparse_` for a `rows x cols` tensor with `zeros_per_column` zeros per column.
pub(crate) fn sparse_mask(rows: u64, cols: u64, zeros_per_column: u64, stream: Stream) -> Result<SparseMask> {
    let n = rows
        .checked_mul(cols)
        .filter(|&n| n < 1 << 40)
        .ok_or_else(|| Error::OutOfMemory { what: format!("sparse: the mask of a {rows} x {cols} tensor") })?;
    let zeros_marked = zeros_per_column <= rows - zeros_per_column;
    let k = zeros_per_column.min(rows - zeros_per_column);
    let words_total = n.div_ceil(32) as usize;
    // Each thread holds a whole bitmap: at most 256 MiB of them together.
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(cols.max(1) as usize)
        .min(((256usize << 20) / (words_total * 4).max(1)).max(1));
    let per_thread = cols.div_ceil(threads as u64);
    // Each thread draws its columns into a bitmap of its own (no atomics), merged by OR after.
    let partial: Vec<Result<Vec<u32>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                scope.spawn(move || {
                    let columns = t * per_thread..((t + 1) * per_thread).min(cols);
                    draw_columns(rows, cols, k, n, columns, stream, words_total)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("sparse mask thread")).collect()
    });
    let mut partial = partial.into_iter();
    let mut bits = match partial.next() {
        Some(bits) => bits?,
        None => try_vec(words_total, 0, "the sparse mask")?,
    };
    for other in partial {
        let other = other?;
        for (word, o) in bits.iter_mut().zip(&other) {
            *word |= o;
        }
    }
    Ok(SparseMask { bits, zeros_marked })
}

/// Floyd's draws for `columns`, into a fresh bitmap of `words_total` words.
fn draw_columns(
    rows: u64,
    cols: u64,
    k: u64,
    n: u64,
    columns: std::ops::Range<u64>,
    stream: Stream,
    words_total: usize,
) -> Result<Vec<u32>> {
    let mut bits = try_vec(words_total, 0u32, "the sparse mask")?;
    let mut words = try_vec(2 * k as usize, 0u32, "the sparse mask's draws")?;
    let mut taken = try_vec(rows.div_ceil(64) as usize, 0u64, "the sparse mask's draws")?;
    // The drawn rows of 32 columns at a time, a word a row (bit j for column c0 + j), then
    // merged into the bitmap row by row: a column's draws fall on scattered rows, whose words in
    // the bitmap are a row apart (`cols / 32` words), and set one by one there they missed the
    // cache on nearly every draw. With fewer than 32 columns the bitmap's rows share words, and
    // such a block (a word a row) would be larger than the bitmap: the bits go there directly.
    let blocked = cols >= 32;
    let mut block = try_vec(if blocked { rows as usize } else { 0 }, 0u32, "the sparse mask's draws")?;
    for c0 in columns.clone().step_by(32) {
        block.fill(0);
        for c in c0..(c0 + 32).min(columns.end) {
            batch::fill_words(CpuVariant::best(), &mut words, n + c * rows, &Op::Bits, stream);
            taken.fill(0);
            for (m, pair) in words.chunks_exact(2).enumerate() {
                let j = rows - k + m as u64;
                let x = (u64::from(pair[0]) << 32) | u64::from(pair[1]);
                let t = ((u128::from(x) * u128::from(j + 1)) >> 64) as u64;
                let row = if taken[(t / 64) as usize] >> (t % 64) & 1 == 1 { j } else { t };
                taken[(row / 64) as usize] |= 1 << (row % 64);
                if blocked {
                    block[row as usize] |= 1 << (c - c0);
                } else {
                    let i = row * cols + c;
                    bits[(i / 32) as usize] |= 1 << (i % 32);
                }
            }
        }
        for (row, &drawn) in block.iter().enumerate() {
            // Element `row * cols + c0` onwards: the row's 32 bits may straddle two words.
            let i = row as u64 * cols + c0;
            let shifted = u64::from(drawn) << (i % 32);
            bits[(i / 32) as usize] |= shifted as u32;
            if shifted >> 32 != 0 {
                bits[(i / 32) as usize + 1] |= (shifted >> 32) as u32;
            }
        }
    }
    Ok(bits)
}
