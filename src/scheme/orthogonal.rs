//! `orthogonal_`: Householder QR (faer) of a Gaussian matrix drawn from the stream, on the CPU.
//!
//! As PyTorch: `rows = dim 0`, `cols = numel / rows`; the `rows x cols` matrix holds the stream's
//! standard normal values in row-major order (element `r * cols + c`, exactly the values of
//! `normal(0, 1)`); it is transposed when `rows < cols`, factored `A = QR` in f32, Q's columns are
//! multiplied by `sign(diag(R))`, the result is transposed back and multiplied by `gain`.
//! The Gaussian matrix is drawn on the host by the contract's batch evaluator (the CPU backend's
//! own kernel), so the result is the same whichever device receives it.

use faer::Mat;

use crate::contract::batch;
use crate::contract::isa::CpuVariant;
use crate::contract::op::Op;
use crate::contract::stream::Stream;
use crate::error::{try_vec, Error, Result};

/// The `rows x cols` (row-major) orthogonal matrix of `orthogonal_(gain)` for `stream`.
pub(crate) fn orthogonal_matrix(rows: u64, cols: u64, gain: f64, stream: Stream) -> Result<Vec<f32>> {
    let what = || format!("orthogonal: a {rows} x {cols} matrix and its QR");
    let n = rows
        .checked_mul(cols)
        .filter(|&n| n <= (isize::MAX as u64) / 16)
        .ok_or_else(|| Error::OutOfMemory { what: what() })?;
    // Sized up front: the Gaussian matrix, faer's copy of it, Q and the result (faer's own
    // allocations cannot fail softly, so all of it must be available before they start).
    let needed = n as usize * 4 * 4;
    let mut probe: Vec<u8> = Vec::new();
    probe
        .try_reserve_exact(needed)
        .map_err(|_| Error::OutOfMemory { what: format!("{needed} bytes for {}", what()) })?;
    drop(probe);
    let (rows, cols) = (rows as usize, cols as usize);
    let mut gaussian = try_vec(n as usize, 0u32, "orthogonal's Gaussian matrix")?;
    batch::fill_words(CpuVariant::best(), &mut gaussian, 0, &Op::Normal { mean: 0.0, std: 1.0 }, stream);
    let gaussian: Vec<f32> = bytemuck::cast_vec(gaussian);
    let transposed = rows < cols;
    let (m, k) = if transposed { (cols, rows) } else { (rows, cols) };
    let a = Mat::<f32>::from_fn(m, k, |i, j| if transposed { gaussian[j * cols + i] } else { gaussian[i * cols + j] });
    drop(gaussian);
    let qr = a.qr();
    let q = qr.compute_thin_Q();
    let r = qr.thin_R();
    let gain = gain as f32;
    let scale: Vec<f32> = (0..k)
        .map(|j| {
            let d = r[(j, j)];
            gain * if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
        .collect();
    let mut out = try_vec(rows * cols, 0f32, "the orthogonal matrix")?;
    for (i, row) in out.chunks_exact_mut(cols).enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = if transposed { q[(j, i)] * scale[i] } else { q[(i, j)] * scale[j] };
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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
