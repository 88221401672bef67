//! `orthogonal_`: Householder QR (faer) of a Gaussian matrix drawn from the stream, on the CPU.
//!
//! As PyTorch: `rows = dim 0`, `cols = numel / rows`; the `rows x cols` matrix holds the stream's
//! standard normal values in row-major order (element `r * cols + c`, exactly the values of
//! `normal(0, 1)`); it is transposed when `rows < cols`, factored `A = QR` in f32, Q's columns are
//! multiplied by `sign(diag(R))`, the result is transposed back and multiplied by `gain`.
//! The Gaussian matrix is drawn on the host by the contract's batch evaluator (the CPU backend's
//! own kernel), so the result is the same whichever device receives it.
//!
//! The work, as LAPACK's `geqrf` + `orgqr` do it (what `torch.linalg.qr` calls):
//! - `A` is column-major, as faer's QR wants it. When `rows < cols`, the row-major Gaussian matrix
//!   *is* `A = Gᵀ` in column-major order, so it is drawn in place; otherwise each thread draws its
//!   own columns of `G` a band of rows at a time and writes them down `A`'s columns.
//! - The blocked Householder QR runs in place on `A`, which then holds R above the diagonal and
//!   the reflectors below it (their unit diagonal implied): faer factors each panel on one
//!   thread, and the threads share the updates right of it in chunks of columns
//!   ([`qr_by_panels`]), so the result is the same for any thread count.
//! - Q is formed in `A`'s own memory, as `orgqr` does, from the identity by applying the blocks of
//!   reflectors last to first, each only to the columns it can change (`Q[j.., j..]`: the columns
//!   before `j` are still those of the identity, zero in rows `j..`); each block's reflectors are
//!   copied out first, and its columns reset to the identity's. That is `orgqr`'s saving: a third
//!   fewer flops than applying every block to all of Q (faer's `compute_thin_Q`). The results
//!   agree with it within a few ulps, not bit for bit: faer's products block their sums by the
//!   shape of the product.
//! - When `rows < cols`, column-major Q is the row-major result; a square Q is transposed in
//!   place; a tall one into a new matrix. The signs and `gain` are applied on the way. So a square
//!   or wide orthogonal matrix holds one matrix at a time, not two (the check up front still asks
//!   for two: faer's workspace cannot fail softly).

use std::sync::{Mutex, PoisonError};

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::householder;
use faer::linalg::qr::no_pivoting::factor as qr;
use faer::reborrow::Reborrow;
use faer::reborrow::ReborrowMut;
use faer::{Conj, Mat, MatMut, MatRef, Par};

use crate::contract::batch;
use crate::contract::isa::CpuVariant;
use crate::contract::op::Op;
use crate::contract::stream::Stream;
use crate::error::{try_vec, Error, Result};
use crate::parallel;

/// Rows (and columns) per tile of the blocked transposes: 32 x 32 f32 is 4 KiB, in L1 twice over.
const TILE: usize = 32;

/// Columns per task of the parallel updates (a task applies one block of reflectors to them).
const CHUNK: usize = 256;

/// Columns per block of reflectors in the QR of an `m x k` matrix (`m >= k`): faer's
/// recommendation, except 96 where it recommends 128 (more than 2048² elements, up to 8192²).
/// Measured on 2 threads (AVX-512), whole `nninit fill` runs: 4096² took 1.02 to 1.06 s with 96
/// against 1.13 to 1.17 s with 128, and 64 was slower again at 8192²; 1024 x 4096 and 2048² did
/// not lose.
fn qr_block_size(m: usize, k: usize) -> usize {
    match qr::recommended_block_size::<f32>(m, k) {
        128 => 96.min(k),
        faer => faer,
    }
}

/// The `rows x cols` (row-major) orthogonal matrix of `orthogonal_(gain)` for `stream`.
pub(crate) fn orthogonal_matrix(rows: u64, cols: u64, gain: f64, stream: Stream) -> Result<Vec<f32>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    orthogonal_matrix_on(rows, cols, gain, stream, threads)
}

/// [`orthogonal_matrix`] on `threads` threads (the result is the same for any count).
fn orthogonal_matrix_on(rows: u64, cols: u64, gain: f64, stream: Stream, threads: usize) -> Result<Vec<f32>> {
    let what = || format!("orthogonal: a {rows} x {cols} matrix and its QR");
    let n = rows
        .checked_mul(cols)
        .filter(|&n| n <= (isize::MAX as u64) / 16)
        .ok_or_else(|| Error::OutOfMemory { what: what() })?;
    // Sized up front, since faer's own allocations cannot fail softly: twice the matrix. That is
    // A (which becomes Q) and, for `rows > cols`, the result; for square and wide matrices the
    // second is headroom for faer's workspace (its products' packing buffers took 545 MB at
    // 30000²), so running out is an error before anything starts, never an abort inside faer.
    let needed = n as usize * 4 * 2;
    let mut probe: Vec<u8> = Vec::new();
    probe
        .try_reserve_exact(needed)
        .map_err(|_| Error::OutOfMemory { what: format!("{needed} bytes for {}", what()) })?;
    drop(probe);
    let (rows, cols) = (rows as usize, cols as usize);
    let transposed = rows < cols;
    let (m, k) = if transposed { (cols, rows) } else { (rows, cols) };

    let mut a = try_vec(m * k, 0f32, "orthogonal's Gaussian matrix")?;
    draw_column_major(&mut a, rows, cols, transposed, stream, threads)?;

    // QR in place: R on and above the diagonal of A, the reflectors below it, the blocks'
    // triangular factors in `coeff`.
    let block = qr_block_size(m, k);
    let mut coeff = Mat::<f32>::zeros(block, k);
    if !qr_by_panels(MatMut::from_column_major_slice_mut(&mut a, m, k), coeff.as_mut(), threads) {
        // A panel without full rank (never seen with Gaussian input): faer's QR of the whole
        // matrix handles it, from the Gaussian matrix drawn again.
        draw_column_major(&mut a, rows, cols, transposed, stream, threads)?;
        let par = faer::get_global_parallelism();
        let scratch = qr::qr_in_place_scratch::<f32>(m, k, block, par, Default::default());
        let mut mem = MemBuffer::new(scratch);
        let a = MatMut::from_column_major_slice_mut(&mut a, m, k);
        qr::qr_in_place(a, coeff.as_mut(), par, MemStack::new(&mut mem), Default::default());
    }
    let gain = gain as f32;
    let scale: Vec<f32> = (0..k).map(|j| gain * sign(a[j * m + j])).collect();
    form_q_in_place(&mut a, m, k, coeff.as_ref(), threads)?;
    let mut q = a;

    if transposed {
        // Column j of Q (m = cols long) is row j of the result.
        for (row, &s) in q.chunks_exact_mut(m).zip(&scale) {
            row.iter_mut().for_each(|x| *x *= s);
        }
        return Ok(q);
    }
    if rows == cols {
        transpose_square_scaled(&mut q, rows, &scale, threads);
        return Ok(q);
    }
    // Q's row-major transpose, each thread writing a band of the result's rows.
    let mut out = try_vec(rows * cols, 0f32, "orthogonal's result")?;
    in_bands(&mut out, cols, threads, |first_row, band| {
        for j0 in (0..cols).step_by(TILE) {
            for i0 in (0..band.len() / cols).step_by(TILE) {
                for j in j0..(j0 + TILE).min(cols) {
                    let column = &q[j * rows + first_row..][..band.len() / cols];
                    for i in i0..(i0 + TILE).min(column.len()) {
                        band[i * cols + j] = column[i] * scale[j];
                    }
                }
            }
        }
    });
    Ok(out)
}

/// Forms Q (`m x k`, column-major) in `a`'s memory from the QR that `a` and `coeff` hold, as
/// LAPACK's `orgqr` does: the blocks of reflectors last to first, each applied only to the
/// columns it changes (`Q[j.., j..]`: the columns before `j` are still those of the identity,
/// zero in rows `j..`), in [`CHUNK`]-column chunks shared among the threads. Before block `j` is
/// applied, its reflectors are copied out and its own columns become the identity's (R above
/// them, zeros in Q, is cleared). Every chunk sees the numbers it would see in a separate Q, so
/// the result is the same.
fn form_q_in_place(a: &mut [f32], m: usize, k: usize, coeff: MatRef<'_, f32>, threads: usize) -> Result<()> {
    let block = coeff.nrows();
    let scratch = householder::apply_block_householder_on_the_left_in_place_scratch::<f32>(m, block, CHUNK);
    let mut panel = try_vec(m * block.min(k), 0f32, "orthogonal's reflectors")?;
    let mut q = MatMut::from_column_major_slice_mut(a, m, k);
    let mut end = k;
    let mut width = match k % block {
        0 => block,
        rest => rest,
    };
    while end > 0 {
        let start = end - width;
        let height = m - start;
        let mut reflectors = MatMut::from_column_major_slice_mut(&mut panel[..height * width], height, width);
        reflectors.copy_from(q.rb().get(start.., start..end));
        q.rb_mut().get_mut(.., start..end).fill(0.0);
        for c in start..end {
            q[(c, c)] = 1.0;
        }
        let (reflectors, factor) = (reflectors.rb(), coeff.get(.., start..end).subrows(0, width));
        in_column_chunks(
            q.rb_mut().get_mut(start.., start..),
            threads,
            scratch,
            |_| {},
            |chunk, stack| {
                householder::apply_block_householder_on_the_left_in_place_with_conj(
                    reflectors,
                    factor,
                    Conj::No,
                    chunk,
                    Par::Seq,
                    stack,
                )
            },
        );
        end = start;
        width = block;
    }
    Ok(())
}

/// Transposes the square `n x n` matrix in `data` in place, scaling as it goes: element `(i, j)`
/// of the result (row-major) is `data[j * n + i] * scale[j]`. The matrix is cut into
/// [`TILE`]-square tiles; the threads take rows of tiles in turn, and the thread that takes tile
/// row `I` swaps each tile `(I, J)`, `J >= I`, with its mirror `(J, I)`.
fn transpose_square_scaled(data: &mut [f32], n: usize, scale: &[f32], threads: usize) {
    assert_eq!(data.len(), n * n, "a square matrix");
    let tiles = n.div_ceil(TILE);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let shared = SharedTiles(data.as_mut_ptr());
    let work = || loop {
        let ti = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if ti >= tiles {
            break;
        }
        for tj in ti..tiles {
            // SAFETY: the elements of tiles (ti, tj) and (tj, ti) are touched by this task
            // alone: every unordered pair of tile indices is one task's, the tasks' pairs are
            // distinct (each tile row is taken once), and every index is below n * n.
            unsafe { shared.swap_tiles(n, ti, tj, scale) };
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..parallel::threads_for(n * n, threads) {
            scope.spawn(work);
        }
        work();
    });
}

/// `data`'s pointer for [`transpose_square_scaled`], whose tasks touch disjoint elements.
struct SharedTiles(*mut f32);

// SAFETY: see `transpose_square_scaled`: the threads never touch the same element.
unsafe impl Sync for SharedTiles {}

impl SharedTiles {
    /// Swaps tile `(ti, tj)` with tile `(tj, ti)` as [`transpose_square_scaled`] describes (a
    /// diagonal tile with itself).
    ///
    /// # Safety
    /// `self.0` points to `n * n` elements, and no other thread touches these two tiles.
    unsafe fn swap_tiles(&self, n: usize, ti: usize, tj: usize, scale: &[f32]) {
        let (rows, cols) = (ti * TILE..(ti * TILE + TILE).min(n), tj * TILE..(tj * TILE + TILE).min(n));
        for i in rows {
            for j in cols.clone() {
                if ti == tj && j < i {
                    continue;
                }
                let (upper, lower) = (self.0.add(i * n + j), self.0.add(j * n + i));
                if i == j {
                    *upper *= scale[i];
                } else {
                    let (x, y) = (*upper, *lower);
                    *upper = y * scale[j];
                    *lower = x * scale[i];
                }
            }
        }
    }
}

/// Blocked Householder QR of `a` (`m x k`, `m >= k`) in place, as faer's `qr_in_place` with
/// `coeff`'s block size, but parallel by columns, with look-ahead: each panel of `block` columns
/// is factored on one thread (faer's recursive panel QR), and its block of reflectors is applied
/// to the columns right of it in chunks of [`CHUNK`] columns shared out among `threads` threads,
/// while the caller first brings the next panel up to date and factors it. Every chunk is
/// computed the same way whichever thread takes it, so the result does not depend on the thread
/// count. `false` if a panel is not of full rank (`a` is then not a QR).
///
/// faer's own parallel QR passes its parallelism down to every small product inside the panel:
/// at 1024² it took 0.07-0.10 s on 2 threads against 0.027 s on one.
fn qr_by_panels(mut a: MatMut<'_, f32>, mut coeff: MatMut<'_, f32>, threads: usize) -> bool {
    let (m, k) = (a.nrows(), a.ncols());
    let block = coeff.nrows();
    let scratch = StackReq::any_of(&[
        qr::qr_in_place_scratch::<f32>(m, block, block, Par::Seq, Default::default()),
        householder::apply_block_householder_transpose_on_the_left_in_place_scratch::<f32>(m, block, CHUNK.max(block)),
    ]);
    let factor = |panel: MatMut<'_, f32>, factor: MatMut<'_, f32>, stack: &mut MemStack| {
        let width = panel.ncols();
        qr::qr_in_place(panel, factor, Par::Seq, stack, Default::default()).rank == width
    };
    let first = block.min(k);
    let mut mem = MemBuffer::new(scratch);
    let (panel, factor0) = (a.rb_mut().get_mut(.., ..first), coeff.rb_mut().get_mut(..first, ..first));
    if !factor(panel, factor0, MemStack::new(&mut mem)) {
        return false;
    }
    let mut full_rank = true;
    let mut j = 0;
    while j + block < k {
        let next = j + block;
        let width = block.min(k - next);
        let (done, right) = a.rb_mut().get_mut(j.., ..).split_at_col_mut(next);
        let (done_coeff, right_coeff) = coeff.rb_mut().split_at_col_mut(next);
        let (reflectors, t) = (done.rb().get(.., j..), done_coeff.rb().get(.., j..));
        let (mut look, rest) = right.split_at_col_mut(width);
        let next_coeff = right_coeff.get_mut(..width, ..width);
        let apply = |target: MatMut<'_, f32>, stack: &mut MemStack| {
            householder::apply_block_householder_transpose_on_the_left_in_place_with_conj(
                reflectors,
                t,
                Conj::Yes,
                target,
                Par::Seq,
                stack,
            )
        };
        let full = &mut full_rank;
        in_column_chunks(
            rest,
            threads,
            scratch,
            |stack| {
                apply(look.rb_mut(), stack);
                *full &= factor(look.get_mut(block.., ..), next_coeff, stack);
            },
            apply,
        );
        if !full_rank {
            return false;
        }
        j = next;
    }
    true
}

/// Runs `update` on every [`CHUNK`]-column block of `target`, the blocks shared out among
/// `threads` threads; the calling thread runs `lead` first. Each thread has its own `scratch`.
fn in_column_chunks(
    target: MatMut<'_, f32>,
    threads: usize,
    scratch: StackReq,
    lead: impl FnOnce(&mut MemStack) + Send,
    update: impl Fn(MatMut<'_, f32>, &mut MemStack) + Sync,
) {
    let mut chunks = std::collections::VecDeque::new();
    let mut rest = target;
    while rest.ncols() > 0 {
        let width = CHUNK.min(rest.ncols());
        let (chunk, tail) = rest.split_at_col_mut(width);
        chunks.push_back(chunk);
        rest = tail;
    }
    let pool = Mutex::new(chunks);
    let work = |stack: &mut MemStack| loop {
        let chunk = pool.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
        match chunk {
            Some(chunk) => update(chunk, stack),
            None => break,
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.min(pool.lock().unwrap_or_else(PoisonError::into_inner).len() + 1) {
            scope.spawn(|| work(MemStack::new(&mut MemBuffer::new(scratch))));
        }
        let mut mem = MemBuffer::new(scratch);
        let stack = MemStack::new(&mut mem);
        lead(stack);
        work(stack);
    });
}

/// `+1`, `-1` or `0` as `sign(d)`, PyTorch's `d.sign()`.
fn sign(d: f32) -> f32 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Draws the row-major `rows x cols` standard normal matrix `G` of `stream` as the column-major
/// `A` on `threads` threads: `Gᵀ` (`cols x rows`) when `transposed`, which is `G`'s own memory;
/// otherwise `G`, each thread owning a band of `A`'s columns and drawing them `TILE` rows at a
/// time into a small buffer, then writing them down its columns.
fn draw_column_major(
    a: &mut [f32],
    rows: usize,
    cols: usize,
    transposed: bool,
    stream: Stream,
    threads: usize,
) -> Result<()> {
    let normal = Op::Normal { mean: 0.0, std: 1.0 };
    let variant = CpuVariant::best();
    let words: &mut [u32] = bytemuck::cast_slice_mut(a);
    if transposed {
        in_bands(words, 1, threads, |first, part| batch::fill_words(variant, part, first as u64, &normal, stream));
        return Ok(());
    }
    // Each thread owns a band of A's columns (contiguous in A) and draws, band of TILE rows by
    // band, only those columns of G: the elements `r * cols + c` for its `c`.
    in_bands(words, rows, threads, |first_column, part| {
        let width = part.len() / rows;
        let mut band = vec![0u32; TILE * width];
        for i0 in (0..rows).step_by(TILE) {
            let height = TILE.min(rows - i0);
            for (di, row) in band.chunks_exact_mut(width).take(height).enumerate() {
                batch::fill_words(variant, row, ((i0 + di) * cols + first_column) as u64, &normal, stream);
            }
            for dj in 0..width {
                let column = &mut part[dj * rows + i0..][..height];
                for (di, x) in column.iter_mut().enumerate() {
                    *x = band[di * width + dj];
                }
            }
        }
    });
    Ok(())
}

/// Runs `f(first unit, band)` on up to `threads` contiguous bands of `data`, each a whole number
/// of `unit`-element units, in parallel ([`parallel::in_parts`]; on the calling thread alone for
/// small data).
fn in_bands<T: Send>(data: &mut [T], unit: usize, threads: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let threads = parallel::threads_for(data.len(), threads);
    parallel::in_parts(data, unit, 0, 1, threads, |band, first| f(first as usize, band));
}

#[cfg(test)]
mod tests {
    use faer::Mat;

    use crate::contract::batch;
    use crate::contract::isa::CpuVariant;
    use crate::contract::op::Op;
    use crate::Stream;

    /// PyTorch's recipe written plainly with faer's high-level API: the Gaussian matrix by index,
    /// `Mat::qr`, `compute_thin_Q` (every block applied to all of Q), signs, transpose, gain.
    fn reference(rows: usize, cols: usize, gain: f32, stream: Stream) -> Vec<f32> {
        let mut words = vec![0u32; rows * cols];
        batch::fill_words(CpuVariant::Baseline, &mut words, 0, &Op::Normal { mean: 0.0, std: 1.0 }, stream);
        let g = |r: usize, c: usize| f32::from_bits(words[r * cols + c]);
        let transposed = rows < cols;
        let (m, k) = if transposed { (cols, rows) } else { (rows, cols) };
        let a = Mat::<f32>::from_fn(m, k, |i, j| if transposed { g(j, i) } else { g(i, j) });
        let qr = a.qr();
        let (q, r) = (qr.compute_thin_Q(), qr.thin_R());
        let scale = |j: usize| gain * super::sign(r[(j, j)]);
        let mut out = vec![0f32; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                out[i * cols + j] = if transposed { q[(j, i)] * scale(i) } else { q[(i, j)] * scale(j) };
            }
        }
        out
    }

    #[test]
    fn agrees_with_faers_own_qr_and_q() {
        // Tall, square and wide; sizes below, at and across faer's block sizes, and band edges.
        // 1100 x 700: panels of 48 columns, updates in chunks of 256 columns and a narrower rest;
        // 4200 x 1000: panels of 96 columns (faer: 128).
        for (rows, cols) in [
            (1, 1),
            (1, 7),
            (7, 1),
            (3, 5),
            (33, 33),
            (129, 65),
            (65, 129),
            (300, 200),
            (200, 300),
            (1100, 700),
            (4200, 1000),
        ] {
            let stream = Stream::new(rows as u64 * 1000 + cols as u64, 3);
            let got = super::orthogonal_matrix(rows as u64, cols as u64, 1.5, stream).unwrap();
            let want = reference(rows, cols, 1.5, stream);
            // Within a few ulps, not bit for bit: faer's matrix products block their sums by the
            // shape of the product, which the restricted updates change (as the thread count does).
            let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(diff <= 4.0 * f32::EPSILON * 1.5, "{rows} x {cols}: {diff:e} from faer's qr + compute_thin_Q");
        }
    }

    #[test]
    fn the_thread_count_does_not_change_a_bit() {
        // 4200 x 1000 takes blocks of 96 columns, the others faer's sizes.
        assert_eq!(super::qr_block_size(4200, 1000), 96);
        for (rows, cols) in [(1100, 700), (600, 1300), (257, 257), (4200, 1000)] {
            let stream = Stream::new(11, rows);
            let one = super::orthogonal_matrix_on(rows, cols, 1.0, stream, 1).unwrap();
            for threads in [2, 3, 8] {
                let many = super::orthogonal_matrix_on(rows, cols, 1.0, stream, threads).unwrap();
                assert!(one == many, "{rows} x {cols} on {threads} threads differs from one thread");
            }
        }
    }

    #[test]
    fn a_panel_without_full_rank_is_reported() {
        // Panels of 32 columns; with column 70 zero, the third (64 to 95) has rank 31.
        let (m, k) = (300, 200);
        let block = super::qr_block_size(m, k);
        assert_eq!(block, 32);
        for zero_column in [None, Some(70)] {
            let mut words = vec![0u32; m * k];
            batch::fill_words(
                CpuVariant::Baseline,
                &mut words,
                0,
                &Op::Normal { mean: 0.0, std: 1.0 },
                Stream::new(5, 5),
            );
            let mut a: Vec<f32> = words.into_iter().map(f32::from_bits).collect();
            if let Some(c) = zero_column {
                a[c * m..(c + 1) * m].fill(0.0);
            }
            let mut coeff = Mat::<f32>::zeros(block, k);
            let a = faer::MatMut::from_column_major_slice_mut(&mut a, m, k);
            assert_eq!(super::qr_by_panels(a, coeff.as_mut(), 2), zero_column.is_none());
        }
    }

    #[test]
    fn the_square_transpose_in_place_moves_and_scales_every_element() {
        for n in [1usize, 2, 31, 32, 33, 100] {
            let scale: Vec<f32> = (0..n).map(|j| 1.0 + j as f32 / 8.0).collect();
            let original: Vec<f32> = (0..n * n).map(|x| x as f32).collect();
            for threads in [1, 3] {
                let mut data = original.clone();
                super::transpose_square_scaled(&mut data, n, &scale, threads);
                for i in 0..n {
                    for j in 0..n {
                        assert_eq!(data[i * n + j], original[j * n + i] * scale[j], "n {n} at ({i}, {j})");
                    }
                }
            }
        }
    }

    #[test]
    fn rows_are_orthonormal_when_rows_are_fewer() {
        let q = super::orthogonal_matrix(3, 5, 1.0, crate::Stream::new(1, 0)).unwrap();
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let dot: f32 = (0..5).map(|j| q[a * 5 + j] * q[b * 5 + j]).sum();
            assert!(dot.abs() < 1e-6, "rows {a} {b}: {dot}");
        }
        let norm: f32 = (0..5).map(|j| q[j] * q[j]).sum();
        assert!((norm - 1.0).abs() < 1e-6);
    }
}
