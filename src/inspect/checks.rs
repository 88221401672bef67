//! The checks `inspect` runs against how a tensor was made.

use std::ops::Range;

use crate::contract::dtype::Dtype;
use crate::contract::op::Op;
use crate::contract::stats::{ks_p_value, ks_statistic_rounded};
use crate::contract::stream::Stream;
use crate::cpu::CpuBackend;
use crate::error::Result;
use crate::io::{TensorEntry, TensorFile};
use crate::scheme::{Fill, Lowered, Plan, Shard};

use super::distribution::Distribution;
use super::for_each_piece;

/// A KS test fails below this p-value; over several tensors, below it after Holm's adjustment
/// ([`adjust_for_multiple_tests`]), so that a correct file of hundreds of tensors fails with
/// probability at most this, not once in a few runs.
pub const KS_THRESHOLD: f64 = 0.001;
/// Elements compared at once by the exact check (at least one row).
const READ_ELEMENTS: u64 = 1 << 22;
/// At most this many values (evenly strided) go into a KS test.
const KS_SAMPLES: u64 = 1 << 20;
/// Largest matrix whose orthogonality is checked.
const ORTHOGONAL_MAX_ELEMENTS: u64 = 1 << 24;

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// Kolmogorov-Smirnov test against the exact distribution of the values as rounded to the
    /// file's dtype (for sparse: of the non-zero values).
    Ks {
        /// The statistic D (of the finite values sampled).
        statistic: f64,
        /// Its asymptotic p-value.
        p_value: f64,
        /// The p-value adjusted for the other KS tests of the same inspection (Holm's step-down
        /// method over `tests` tests); the check passes at or above [`KS_THRESHOLD`].
        p_adjusted: f64,
        /// The KS tests it was adjusted over (1: on its own, `p_adjusted == p_value`).
        tests: usize,
        /// Values tested.
        samples: usize,
        /// NaNs and infinities in the whole tensor: any fails the check, since no scheme makes one.
        non_finite: u64,
    },
    /// Deterministic schemes (constant, ones, zeros, eye, dirac): every element as expected.
    Exact {
        /// Elements that differ from the expected bits.
        mismatches: u64,
        /// Elements compared.
        elements: u64,
    },
    /// Orthogonal: the largest entry of `|Q Q^T - gain^2 I|` (or `Q^T Q`, whichever is smaller).
    Orthogonality {
        /// The largest error.
        max_error: f64,
        /// The check passes at or below it (it grows with the dtype's rounding).
        tolerance: f64,
    },
    /// Sparse: zeros in each column.
    ZerosPerColumn {
        /// `ceil(sparsity * rows)`.
        expected: u64,
        /// The fewest zeros in a column.
        min: u64,
        /// The most.
        max: u64,
        /// Rows, which bounds the zeros that rounding to the dtype may add.
        rows: u64,
    },
    /// The row written as zeros after the scheme (`padding_idx`): every value of it zero.
    ZeroRow {
        /// The row.
        row: u64,
        /// Its values that are not zero.
        nonzero: u64,
        /// Its values.
        elements: u64,
    },
    /// A check that applies but could not run, and why.
    Skipped {
        /// The check.
        name: String,
        /// Why not.
        why: String,
    },
}

impl Check {
    /// Whether the check passed (a skipped check does not fail).
    pub fn passed(&self) -> bool {
        match *self {
            Check::Ks { p_adjusted, non_finite, .. } => p_adjusted >= KS_THRESHOLD && non_finite == 0,
            Check::Exact { mismatches, .. } => mismatches == 0,
            Check::Orthogonality { max_error, tolerance } => max_error <= tolerance,
            // Values so small that they round to zero in f16 may add a few zeros.
            Check::ZerosPerColumn { expected, min, max, rows } => min >= expected && max <= expected + 1 + rows / 1000,
            Check::ZeroRow { nonzero, .. } => nonzero == 0,
            Check::Skipped { .. } => true,
        }
    }

    /// One line.
    pub fn describe(&self) -> String {
        let verdict = if self.passed() { "ok" } else { "FAILED" };
        match self {
            Check::Ks { statistic, p_value, p_adjusted, tests, samples, non_finite } => {
                let non_finite = match non_finite {
                    0 => String::new(),
                    n => format!("; {n} NaN or infinite values"),
                };
                let adjusted = match tests {
                    1 => String::new(),
                    n => format!(", {p_adjusted:.4} adjusted over {n} KS tests (Holm)"),
                };
                format!(
                    "KS D = {statistic:.5}, p = {p_value:.4}{adjusted} ({samples} values; fails below {KS_THRESHOLD}{non_finite}): {verdict}"
                )
            }
            Check::Exact { mismatches, elements } => {
                format!("exact: {mismatches} of {elements} elements differ: {verdict}")
            }
            Check::Orthogonality { max_error, tolerance } => {
                format!("orthogonality: max |QQ^T - gain^2 I| = {max_error:.2e} (tolerance {tolerance:.0e}): {verdict}")
            }
            Check::ZerosPerColumn { expected, min, max, .. } => {
                format!("zeros per column: {min}..={max}, expected {expected}: {verdict}")
            }
            Check::ZeroRow { row, nonzero, elements } => {
                format!("zero row {row} (padding_idx): {nonzero} of {elements} values are not zero: {verdict}")
            }
            Check::Skipped { name, why } => format!("{name}: skipped ({why})"),
        }
    }
}

/// How a tensor was made, as the checks need it: its plan (for the whole tensor), the block of
/// it the file holds (a shard), and the stream it was drawn from, where known.
pub(super) struct Made<'a> {
    pub(super) plan: &'a Plan,
    pub(super) shard: Option<&'a Shard>,
    pub(super) stream: Option<Stream>,
}

/// The checks that apply to a tensor made as `made` says, with `zero_row` written as zeros
/// after it (`sample`: the values for its KS test, that row left out).
pub(super) fn run(
    file: &TensorFile,
    entry: &TensorEntry,
    made: &Made<'_>,
    zero_row: Option<ZeroRowSeen>,
    sample: Option<KsSample<'_>>,
    non_finite: u64,
) -> Result<Vec<Check>> {
    let Made { plan, shard, stream } = *made;
    let mut checks = Vec::new();
    if let Some(sample) = sample {
        checks.push(sample.test(entry.dtype, non_finite));
    }
    let zeroed = zero_row.as_ref().map(|z| z.row);
    if let Some(z) = zero_row {
        checks.push(Check::ZeroRow { row: z.row, nonzero: z.nonzero, elements: z.elements.end - z.elements.start });
    }
    // The file's tensor is the shard's block of the whole, or the whole.
    let block = shard.cloned().unwrap_or_default();
    let expected_shape = block.shape(plan.shape()).ok();
    if expected_shape.as_deref() != Some(entry.shape.as_slice()) {
        let why = format!("the file's shape {:?} is not the recorded one's {:?}", entry.shape, expected_shape);
        checks.push(Check::Skipped { name: "value checks".into(), why });
        return Ok(checks);
    }
    // The zero row as a row of the whole tensor.
    let zero_row_of_whole = zeroed.map(|row| row + block.rows.as_ref().map_or(0, |r| r.start));
    let dtype = match entry.dtype {
        safetensors::Dtype::F32 => Some(Dtype::F32),
        safetensors::Dtype::F16 => Some(Dtype::F16),
        safetensors::Dtype::BF16 => Some(Dtype::Bf16),
        _ => None,
    };
    let whole = shard.is_none();
    match &plan.lowered {
        Lowered::Elementwise(Op::Constant { .. } | Op::Diagonal(_)) => match dtype {
            Some(dtype) => {
                let fill = Fill::from_plan(plan, Stream::default())?;
                checks.push(exact(file, entry, &fill, &block, zero_row_of_whole, dtype)?);
            }
            None => checks.push(exact_values(file, entry, &plan.lowered)?),
        },
        // A shard of a matrix made whole on the host: its values regenerated from the stream.
        Lowered::Orthogonal { rows, cols, .. } | Lowered::Sparse { rows, cols, .. } if !whole => {
            let name =
                if matches!(plan.lowered, Lowered::Orthogonal { .. }) { "orthogonality" } else { "zeros per column" };
            match (stream, dtype) {
                (Some(stream), Some(dtype)) if rows * cols <= ORTHOGONAL_MAX_ELEMENTS => {
                    let fill = Fill::from_plan(plan, stream)?;
                    checks.push(exact(file, entry, &fill, &block, zero_row_of_whole, dtype)?);
                }
                (None, _) => {
                    checks.push(skipped(name, "the file holds a shard and records no stream to regenerate it from"))
                }
                (_, None) => {
                    checks.push(skipped(name, "the file holds a shard of a dtype other than f32, f16 and bf16"))
                }
                _ => checks.push(skipped(name, "the file holds a shard of a matrix of more than 2^24 elements")),
            }
        }
        Lowered::Orthogonal { rows, cols, gain } => {
            if zeroed.is_some() {
                checks.push(skipped("orthogonality", "a row is zeroed"));
            } else if rows * cols > ORTHOGONAL_MAX_ELEMENTS {
                checks.push(skipped("orthogonality", "more than 2^24 elements"));
            } else if !cfg!(feature = "orthogonal") {
                checks.push(skipped("orthogonality", "this build lacks the `orthogonal` feature"));
            } else {
                let epsilon = match dtype {
                    Some(Dtype::F16) => 2f64.powi(-11),
                    Some(Dtype::Bf16) => 2f64.powi(-8),
                    _ => 2f64.powi(-24),
                };
                let tolerance = (16.0 * epsilon).max(1e-4) * gain.powi(2).max(1.0);
                let max_error = orthogonality_error(file, entry, *rows as usize, *cols as usize, *gain)?;
                checks.push(Check::Orthogonality { max_error, tolerance });
            }
        }
        Lowered::Sparse { rows, cols, zeros_per_column, .. } => {
            let mut zeros = vec![0u64; *cols as usize];
            for_each_piece(file, entry, |first, values| {
                for (k, v) in values.iter().enumerate() {
                    if *v == 0.0 {
                        zeros[((first + k as u64) % cols) as usize] += 1;
                    }
                }
                Ok(())
            })?;
            let (min, max) = (zeros.iter().copied().min().unwrap_or(0), zeros.iter().copied().max().unwrap_or(0));
            checks.push(Check::ZerosPerColumn { expected: *zeros_per_column, min, max, rows: *rows });
        }
        _ => {}
    }
    Ok(checks)
}

fn skipped(name: &str, why: &str) -> Check {
    Check::Skipped { name: name.into(), why: why.into() }
}

/// A zero row (`padding_idx`) and its values that are not zero, counted piece by piece in the
/// same pass as the KS sample.
pub(super) struct ZeroRowSeen {
    row: u64,
    /// The row's elements.
    pub(super) elements: Range<u64>,
    nonzero: u64,
}

impl ZeroRowSeen {
    pub(super) fn new(row: u64, elements: Range<u64>) -> Self {
        Self { row, elements, nonzero: 0 }
    }

    /// Counts the row's values among `values`, elements `first ..` of the tensor, that are not zero.
    pub(super) fn add(&mut self, first: u64, values: &[f64]) {
        let at = |i: u64| (i.saturating_sub(first) as usize).min(values.len());
        let inside = &values[at(self.elements.start)..at(self.elements.end)];
        self.nonzero += inside.iter().filter(|v| **v != 0.0).count() as u64;
    }
}

/// Evenly strided values of a tensor (for sparse: the non-zero ones among them), gathered piece
/// by piece, for a KS test against `distribution`.
pub(super) struct KsSample<'a> {
    distribution: &'a Distribution,
    stride: u64,
    /// Elements left out (a zero row).
    skipped: Option<Range<u64>>,
    values: Vec<f64>,
}

impl<'a> KsSample<'a> {
    /// A sample of at most [`KS_SAMPLES`] of a tensor's `count` values, leaving out the
    /// elements `skipped`.
    pub(super) fn new(distribution: &'a Distribution, count: u64, skipped: Option<Range<u64>>) -> Self {
        let stride = count.div_ceil(KS_SAMPLES).max(1);
        Self { distribution, stride, skipped, values: Vec::with_capacity(count.min(KS_SAMPLES) as usize) }
    }

    /// Takes the sampled values among `values`, elements `first ..` of the tensor.
    pub(super) fn add(&mut self, first: u64, values: &[f64]) {
        let sparse = matches!(self.distribution, Distribution::Sparse { .. });
        let start = (self.stride - first % self.stride) % self.stride;
        let skipped = self.skipped.clone().unwrap_or_default();
        for (k, v) in values.iter().enumerate().skip(start as usize).step_by(self.stride as usize) {
            // Non-finite values are counted by the summary and fail the check there.
            if v.is_finite() && !(sparse && *v == 0.0) && !skipped.contains(&(first + k as u64)) {
                self.values.push(*v);
            }
        }
    }

    /// The KS test against the distribution of the values as rounded to `dtype`; the tensor
    /// holds `non_finite` NaNs and infinities.
    fn test(&self, dtype: safetensors::Dtype, non_finite: u64) -> Check {
        let cdf = |x| self.distribution.cdf(x);
        let statistic = ks_statistic_rounded(&self.values, cdf, |v| rounding_cell(v, dtype));
        let samples = self.values.len();
        let p_value = ks_p_value(statistic, samples);
        Check::Ks { statistic, p_value, p_adjusted: p_value, tests: 1, samples, non_finite }
    }
}

/// The interval of reals that round (to nearest) to `v` in `dtype`: halfway to its neighbours
/// (`(v, v)` for a value that is not finite).
fn rounding_cell(v: f64, dtype: safetensors::Dtype) -> (f64, f64) {
    if !v.is_finite() {
        return (v, v);
    }
    let neighbours = |bits: u32, width: u32, decode: &dyn Fn(u32) -> f64| {
        let sign = 1 << (width - 1);
        let magnitude = bits & (sign - 1);
        // One step away from zero (the largest finite value steps to infinity) and one step
        // towards it (through zero to the other sign).
        let away = bits.wrapping_add(1);
        let toward = if magnitude == 0 { sign ^ (bits & sign) | 1 } else { bits - 1 };
        let (a, t) = (decode(away), decode(toward));
        if bits & sign == 0 {
            (t, a)
        } else {
            (a, t)
        }
    };
    let (down, up) = match dtype {
        safetensors::Dtype::F32 => neighbours((v as f32).to_bits(), 32, &|b| f32::from_bits(b) as f64),
        safetensors::Dtype::F16 => {
            neighbours(half::f16::from_f64(v).to_bits() as u32, 16, &|b| half::f16::from_bits(b as u16).to_f64())
        }
        safetensors::Dtype::BF16 => {
            neighbours(half::bf16::from_f64(v).to_bits() as u32, 16, &|b| half::bf16::from_bits(b as u16).to_f64())
        }
        _ => (v, v),
    };
    ((v + down) / 2.0, (v + up) / 2.0)
}

/// Compares the file's bytes, the `block` of the tensor (all of it, or a shard's rows and
/// columns), with `fill`'s, regenerated on the CPU (with its zero row, a row of the whole
/// tensor, if any), a few rows at a time.
fn exact(
    file: &TensorFile,
    entry: &TensorEntry,
    fill: &Fill,
    block: &Shard,
    zero_row: Option<u64>,
    dtype: Dtype,
) -> Result<Check> {
    let fill = match zero_row {
        Some(row) => fill.clone().with_zero_row(row)?,
        None => fill.clone(),
    };
    let cpu = CpuBackend::new();
    let size = dtype.size();
    let n = entry.elements();
    let mut mismatches = 0u64;
    let mut expected = Vec::new();
    let mut compare = |region: crate::Region, bytes: std::ops::Range<u64>| -> Result<()> {
        let got = file.read(entry, bytes)?;
        expected.resize(got.len(), 0u8);
        cpu.fill(&fill, &region, dtype, &mut expected)?;
        mismatches +=
            got.chunks(size as usize).zip(expected.chunks(size as usize)).filter(|(g, e)| g != e).count() as u64;
        Ok(())
    };
    match entry.shape.first() {
        // Rows of the block, as many at a time as make a piece.
        Some(&rows) if rows > 0 && n > 0 => {
            let (rows, row_elements) = (rows as u64, n / rows as u64);
            let step = (READ_ELEMENTS / row_elements).max(1);
            let first_row = block.rows.as_ref().map_or(0, |r| r.start);
            for start in (0..rows).step_by(step as usize) {
                let end = (start + step).min(rows);
                let piece = Shard { rows: Some(first_row + start..first_row + end), cols: block.cols.clone() };
                compare(crate::Region::Shard(piece), start * row_elements * size..end * row_elements * size)?;
            }
        }
        _ => compare(crate::Region::Elements(0..n), 0..n * size)?,
    }
    Ok(Check::Exact { mismatches, elements: n })
}

/// Compares the values of a tensor of any other dtype (e.g. i64 `num_batches_tracked`) with a
/// constant scheme's value.
fn exact_values(file: &TensorFile, entry: &TensorEntry, lowered: &Lowered) -> Result<Check> {
    let Lowered::Elementwise(Op::Constant { val }) = lowered else {
        return Ok(skipped("exact", "eye and dirac are checked in f32, f16 and bf16 only"));
    };
    let val = *val as f64;
    let mut mismatches = 0u64;
    for_each_piece(file, entry, |_, values| {
        mismatches += values.iter().filter(|&&v| v != val).count() as u64;
        Ok(())
    })?;
    Ok(Check::Exact { mismatches, elements: entry.elements() })
}

/// `max |G - gain^2 I|` for the smaller Gram matrix of the `rows x cols` matrix in the file.
#[cfg(feature = "orthogonal")]
fn orthogonality_error(file: &TensorFile, entry: &TensorEntry, rows: usize, cols: usize, gain: f64) -> Result<f64> {
    let mut values = Vec::with_capacity(rows * cols);
    for_each_piece(file, entry, |_, piece| {
        values.extend_from_slice(piece);
        Ok(())
    })?;
    let q = faer::Mat::<f64>::from_fn(rows, cols, |i, j| values[i * cols + j]);
    let gram = if rows <= cols { &q * q.transpose() } else { q.transpose() * &q };
    let target = gain * gain;
    let mut worst = 0.0f64;
    for j in 0..gram.ncols() {
        for i in 0..gram.nrows() {
            let identity = if i == j { target } else { 0.0 };
            // NaN-propagating: a NaN or infinity in the matrix makes the error NaN, which fails.
            let error = (gram[(i, j)] - identity).abs();
            if error.is_nan() || error > worst {
                worst = error;
            }
        }
    }
    Ok(worst)
}

/// Without faer there is no fast Gram matrix: the check is skipped before this is called.
#[cfg(not(feature = "orthogonal"))]
fn orthogonality_error(_: &TensorFile, _: &TensorEntry, _: usize, _: usize, _: f64) -> Result<f64> {
    Err(crate::Error::InvalidParameter("the orthogonality check needs the `orthogonal` feature".into()))
}

/// Adjusts the p-values of every KS check in `reports` for one another with Holm's step-down
/// method: the `i`-th smallest of `m` becomes `max over j <= i of min(1, (m - j + 1) p_(j))`.
/// A check then fails when its adjusted p-value is below [`KS_THRESHOLD`], so the chance that any
/// check of a correct file fails stays at most `KS_THRESHOLD` (with no assumption on how the
/// tests depend on one another), where testing each at that level would fail a file of 300
/// tensors one run in four.
pub fn adjust_for_multiple_tests(reports: &mut [super::TensorReport]) {
    let mut checks: Vec<&mut Check> =
        reports.iter_mut().flat_map(|r| r.checks.iter_mut()).filter(|c| matches!(c, Check::Ks { .. })).collect();
    let raw: Vec<f64> = checks
        .iter()
        .map(|c| match c {
            Check::Ks { p_value, .. } => *p_value,
            _ => unreachable!("only KS checks are collected"),
        })
        .collect();
    let m = raw.len();
    for (check, adjusted) in checks.iter_mut().zip(holm(&raw)) {
        if let Check::Ks { p_adjusted, tests, .. } = check {
            *p_adjusted = adjusted;
            *tests = m;
        }
    }
}

/// Holm's adjusted p-values, in the order given.
fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; p.len()];
    let mut running = 0f64;
    for (j, &i) in order.iter().enumerate() {
        running = running.max(((p.len() - j) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    /// The row's non-zero values counted across pieces that cut it, and none outside it.
    #[test]
    fn zero_row_counts_only_its_own_values_across_pieces() {
        let mut seen = super::ZeroRowSeen::new(1, 3..8);
        // Elements 0..13 in three pieces; non-zero at 1, 4, 7 (NaN), 9 and 12: two in the row.
        seen.add(0, &[0.0, 1.0, 0.0, 0.0, 2.0]);
        seen.add(5, &[0.0, 0.0, f64::NAN, 0.0, 5.0, 0.0, 0.0]);
        seen.add(12, &[3.0]);
        assert_eq!(seen.nonzero, 2);
    }

    #[test]
    fn holm_by_hand() {
        // Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04, then the
        // running maximum: 0.02, 0.03, 0.06, 0.06; back in the given order.
        let got = super::holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-15), "{got:?}");
        // Capped at 1; one test is its own p-value.
        assert_eq!(super::holm(&[0.6, 0.7]), [1.0, 1.0]);
        assert_eq!(super::holm(&[0.25]), [0.25]);
    }
}
