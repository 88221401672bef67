//! Inspecting any safetensors file: per tensor its summary statistics and histogram, and where
//! an nninit file's metadata says how the tensor was made, checks against that: a KS test
//! against the exact distribution, exact values for the deterministic schemes, the
//! orthogonality error, zeros per sparse column.
//!
//! ```no_run
//! use nninit::io::TensorFile;
//! let file = TensorFile::open(std::path::Path::new("model.safetensors"))?;
//! for entry in file.entries() {
//!     let report = nninit::inspect::inspect(&file, entry)?;
//!     println!("{}: mean {} std {}", report.name, report.summary.mean, report.summary.std);
//! }
//! # Ok::<(), nninit::Error>(())
//! ```

mod checks;
mod distribution;
mod made;
mod summary;

pub use checks::{adjust_for_multiple_tests, Check, KS_THRESHOLD};

use checks::{KsSample, ZeroRowSeen};
pub use distribution::Distribution;
pub use made::{how_made, Made};
pub use summary::{Histogram, Summary};

/// The f64 reference distributions and Kolmogorov-Smirnov statistics the checks use, for
/// callers who test values of their own (e.g. comparing GPU fills with CPU fills).
pub mod stats {
    pub use crate::contract::stats::{ks_p_value, ks_statistic, ks_statistic_rounded, normal_cdf, trunc_normal_cdf};
}

use crate::error::Result;
use crate::io::{decode_f64, TensorEntry, TensorFile};
use crate::scheme::Plan;

/// Elements read and decoded at once.
const READ_ELEMENTS: u64 = 1 << 22;
/// Bins of the histogram.
const BINS: usize = 100;

/// What inspecting one tensor found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TensorReport {
    /// The tensor's name.
    pub name: String,
    /// Its dtype, as safetensors names it.
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Statistics of its values.
    pub summary: Summary,
    /// How it was made, where the file says.
    pub made: Option<Made>,
    /// The distribution its values should follow, where known.
    pub expected: Option<Distribution>,
    /// Expected mean and standard deviation, where known.
    pub expected_moments: Option<(f64, f64)>,
    /// The checks that apply.
    pub checks: Vec<Check>,
    /// Histogram of the values over `[min, max]`.
    pub histogram: Histogram,
}

impl TensorReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }
}

/// Calls `visit(first element, bytes)` over the tensor's raw little-endian bytes, in bounded
/// pieces of whole elements.
pub fn for_each_bytes(
    file: &TensorFile,
    entry: &TensorEntry,
    mut visit: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<()> {
    decode_f64(entry.dtype, &[])?; // unsupported dtypes (packed 4- and 6-bit floats, complex) fail here
    let size = (entry.dtype.bitsize() / 8).max(1) as u64;
    let n = entry.elements();
    let mut first = 0;
    while first < n {
        let count = READ_ELEMENTS.min(n - first);
        visit(first, &file.read(entry, first * size..(first + count) * size)?)?;
        first += count;
    }
    Ok(())
}

/// Calls `visit(first element, values)` over the tensor's values, decoded to f64, in bounded
/// pieces.
pub fn for_each_piece(
    file: &TensorFile,
    entry: &TensorEntry,
    mut visit: impl FnMut(u64, &[f64]) -> Result<()>,
) -> Result<()> {
    for_each_bytes(file, entry, |first, bytes| visit(first, &decode_f64(entry.dtype, bytes)?))
}

/// Inspects one tensor of `file`: one pass for the summary, the KS test's sample and the zero
/// row's values, one for the histogram, and one more only for the checks of non-random schemes.
pub fn inspect(file: &TensorFile, entry: &TensorEntry) -> Result<TensorReport> {
    let made = how_made(file.metadata(), &entry.name, &entry.shape, file.entries().len());
    let plan = match &made {
        Some(Made::Scheme { scheme, full_shape, .. }) => Plan::new(scheme, full_shape).ok(),
        _ => None,
    };
    let expected = plan.as_ref().and_then(Distribution::of);
    // The zero row, where the file says there is one and the tensor has it.
    let mut zero_row = match &made {
        Some(Made::Scheme { zero_row: Some(row), full_shape, shard, .. }) => {
            let shape = if shard.is_some() { &entry.shape } else { full_shape };
            crate::scheme::row_elements(shape, *row).ok().map(|elements| ZeroRowSeen::new(*row, elements))
        }
        _ => None,
    };
    let skipped = zero_row.as_ref().map(|z| z.elements.clone());
    let mut sample = expected.as_ref().map(|d| KsSample::new(d, entry.elements(), skipped));
    let mut summary = Summary::default();
    for_each_piece(file, entry, |first, values| {
        summary.add(values);
        if let Some(sample) = &mut sample {
            sample.add(first, values);
        }
        if let Some(zero_row) = &mut zero_row {
            zero_row.add(first, values);
        }
        Ok(())
    })?;
    let mut histogram = Histogram::new(summary.min, summary.max, BINS);
    for_each_piece(file, entry, |_, values| {
        histogram.add(values);
        Ok(())
    })?;
    let checks = match (&made, &plan) {
        (Some(Made::Scheme { shard, stream, .. }), Some(plan)) => {
            let made = checks::Made { plan, shard: shard.as_ref(), stream: *stream };
            checks::run(file, entry, &made, zero_row, sample, summary.non_finite)?
        }
        _ => Vec::new(),
    };
    Ok(TensorReport {
        name: entry.name.clone(),
        dtype: format!("{:?}", entry.dtype),
        shape: entry.shape.clone(),
        summary,
        expected_moments: expected.as_ref().map(Distribution::moments),
        made,
        expected,
        checks,
        histogram,
    })
}
