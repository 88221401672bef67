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
//!   *is* `A = Gᵀ` in column-major order, so it is drawn in place; otherwise it is drawn a band of
//!   rows at a time and transposed into `A` through a small buffer.
//! - faer's blocked Householder QR runs in place on `A`, which then holds R above the diagonal and
//!   the reflectors below it (their unit diagonal implied).
//! - Q is formed from the identity by applying the blocks of reflectors last to first, each only to
//!   the columns it can change (`Q[j.., j..]`: the columns before `j` are still those of the
//!   identity, zero in rows `j..`). That is `orgqr`'s saving: a third fewer flops than applying
//!   every block to all of Q (faer's `compute_thin_Q`). The results agree with it within a few
//!   ulps, not bit for bit: faer's products block their sums by the shape of the product.
//! - When `rows < cols`, column-major Q is the row-major result; otherwise one blocked transpose
//!   writes it out. The signs and `gain` are applied on the way.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::householder;
use faer::linalg::qr::no_pivoting::factor as qr;
use faer::reborrow::ReborrowMut;
use faer::{Conj, Mat, MatMut, MatRef};

use crate::contract::batch;
use crate::contract::isa::CpuVariant;
use crate::contract::op::Op;
use crate::contract::stream::Stream;
use crate::error::{try_vec, Error, Result};

/// Rows (and columns) per tile of the blocked transposes: 32 x 32 f32 is 4 KiB, in L1 twice over.
const TILE: usize = 32;

/// The `rows x cols` (row-major) orthogonal matrix of `orthogonal_(gain)` for `stream`.
pub(crate) fn orthogonal_matrix(rows: u64, cols: u64, gain: f64, stream: Stream) -> Result<Vec<f32>> {
    let what = || format!("orthogonal: a {rows} x {cols} matrix and its QR");
    let n = rows
        .checked_mul(cols)
        .filter(|&n| n <= (isize::MAX as u64) / 16)
        .ok_or_else(|| Error::OutOfMemory { what: what() })?;
    // Sized up front: A, Q and the result (faer's own allocations cannot fail softly, so all of
    // it must be available before they start).
    let needed = n as usize * 4 * 3;
    let mut probe: Vec<u8> = Vec::new();
    probe
        .try_reserve_exact(needed)
        .map_err(|_| Error::OutOfMemory { what: format!("{needed} bytes for {}", what()) })?;
    drop(probe);
    let (rows, cols) = (rows as usize, cols as usize);
    let transposed = rows < cols;
    let (m, k) = if transposed { (cols, rows) } else { (rows, cols) };

    let mut a = try_vec(m * k, 0f32, "orthogonal's Gaussian matrix")?;
    draw_column_major(&mut a, rows, cols, transposed, stream)?;

    // QR in place: R on and above the diagonal of A, the reflectors below it, the blocks'
    // triangular factors in `coeff`.
    let par = faer::get_global_parallelism();
    let block = qr::recommended_block_size::<f32>(m, k);
    let mut coeff = Mat::<f32>::zeros(block, k);
    {
        let scratch = qr::qr_in_place_scratch::<f32>(m, k, block, par, Default::default());
        let mut mem = MemBuffer::new(scratch);
        let a = MatMut::from_column_major_slice_mut(&mut a, m, k);
        qr::qr_in_place(a, coeff.as_mut(), par, MemStack::new(&mut mem), Default::default());
    }
    let gain = gain as f32;
    let scale: Vec<f32> = (0..k).map(|j| gain * sign(a[j * m + j])).collect();

    // Q (m x k, column-major), formed as `orgqr` does.
    let mut q = try_vec(m * k, 0f32, "orthogonal's Q")?;
    {
        let basis = MatRef::from_column_major_slice(&a, m, k);
        let mut q = MatMut::from_column_major_slice_mut(&mut q, m, k);
        for d in 0..k {
            q[(d, d)] = 1.0;
        }
        let scratch = householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f32>(m, block, k);
        let mut mem = MemBuffer::new(scratch);
        let stack = MemStack::new(&mut mem);
        let mut end = k;
        let mut width = match k % block {
            0 => block,
            rest => rest,
        };
        while end > 0 {
            let start = end - width;
            let reflectors = basis.get(start.., start..end);
            let factor = coeff.as_ref().get(.., start..end).subrows(0, width);
            let target = q.rb_mut().get_mut(start.., start..);
            householder::apply_block_householder_on_the_left_in_place_with_conj(
                reflectors,
                factor,
                Conj::No,
                target,
                par,
                stack,
            );
            end = start;
            width = block;
        }
    }
    drop(a);

    if transposed {
        // Column j of Q (m = cols long) is row j of the result.
        for (row, &s) in q.chunks_exact_mut(m).zip(&scale) {
            row.iter_mut().for_each(|x| *x *= s);
        }
        return Ok(q);
    }
    let mut out = try_vec(rows * cols, 0f32, "the orthogonal matrix")?;
    for j0 in (0..cols).step_by(TILE) {
        for i0 in (0..rows).step_by(TILE) {
            for j in j0..(j0 + TILE).min(cols) {
                let column = &q[j * rows..][..rows];
                for i in i0..(i0 + TILE).min(rows) {
                    out[i * cols + j] = column[i] * scale[j];
                }
            }
        }
    }
    Ok(out)
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
/// `A`: `Gᵀ` (`cols x rows`) when `transposed`, which is `G`'s own memory; otherwise `G`, a band
/// of `TILE` rows at a time, transposed from a small buffer.
fn draw_column_major(a: &mut [f32], rows: usize, cols: usize, transposed: bool, stream: Stream) -> Result<()> {
    let normal = Op::Normal { mean: 0.0, std: 1.0 };
    let variant = CpuVariant::best();
    if transposed {
        batch::fill_words(variant, bytemuck::cast_slice_mut(a), 0, &normal, stream);
        return Ok(());
    }
    let mut band = try_vec(TILE * cols, 0u32, "a band of orthogonal's Gaussian matrix")?;
    for i0 in (0..rows).step_by(TILE) {
        let height = TILE.min(rows - i0);
        let band = &mut band[..height * cols];
        batch::fill_words(variant, band, (i0 * cols) as u64, &normal, stream);
        for j in 0..cols {
            let column = &mut a[j * rows + i0..][..height];
            for (di, x) in column.iter_mut().enumerate() {
                *x = f32::from_bits(band[di * cols + j]);
            }
        }
    }
    Ok(())
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
        for (rows, cols) in [(1, 1), (1, 7), (7, 1), (3, 5), (33, 33), (129, 65), (65, 129), (300, 200), (200, 300)] {
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
