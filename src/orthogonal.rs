//! `orthogonal_`: Householder QR (faer) of a Gaussian matrix drawn from the stream, on the CPU.
//!
//! As PyTorch: `rows = dim 0`, `cols = numel / rows`; the `rows x cols` matrix holds the stream's
//! standard normal values in row-major order (element `r * cols + c`, exactly the values of
//! `normal(0, 1)`); it is transposed when `rows < cols`, factored `A = QR` in f32, Q's columns are
//! multiplied by `sign(diag(R))`, the result is transposed back and multiplied by `gain`.
//! The Gaussian matrix always comes from the CPU backend, so the result is the same whichever
//! device receives it.

use faer::Mat;

use crate::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::fill::{Fill, Op};
use crate::stream::Stream;

/// The `rows x cols` (row-major) orthogonal matrix of `orthogonal_(gain)` for `stream`.
///
/// ```
/// let q = nninit::orthogonal::orthogonal_matrix(3, 5, 1.0, nninit::Stream::new(1, 0))?;
/// // Rows are orthonormal when rows < cols.
/// let dot: f32 = (0..5).map(|j| q[j] * q[5 + j]).sum();
/// assert!(dot.abs() < 1e-6);
/// # Ok::<(), nninit::Error>(())
/// ```
pub fn orthogonal_matrix(rows: u64, cols: u64, gain: f64, stream: Stream) -> Result<Vec<f32>> {
    let n = rows
        .checked_mul(cols)
        .filter(|&n| n <= (isize::MAX as u64) / 4)
        .ok_or_else(|| Error::LimitExceeded(format!("orthogonal: a {rows} x {cols} matrix does not fit memory")))?;
    let (rows, cols) = (rows as usize, cols as usize);
    let mut gaussian = vec![0f32; n as usize];
    CpuBackend::new().fill_f32(&mut gaussian, 0, &Fill { op: Op::Normal { mean: 0.0, std: 1.0 }, stream });
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
    let mut out = vec![0f32; rows * cols];
    for (i, row) in out.chunks_exact_mut(cols).enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = if transposed { q[(j, i)] * scale[i] } else { q[(i, j)] * scale[j] };
        }
    }
    Ok(out)
}
