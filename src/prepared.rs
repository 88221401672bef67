//! The host-side part of the schemes that are not element-wise: orthogonal's matrix and sparse's
//! zero mask, computed once and then used by either backend for any range of the tensor.

use crate::error::{Error, Result};
use crate::fill::{Fill, Op};
use crate::orthogonal::orthogonal_matrix;
use crate::planner::{Plan, Work};
use crate::sparse::{sparse_mask, SparseMask};
use crate::stream::Stream;

/// A plan with its host-side work done.
#[derive(Clone, Debug)]
pub enum Prepared {
    /// An element-wise fill: nothing to precompute.
    Elementwise(Fill),
    /// The whole orthogonal matrix, row-major.
    Matrix(Vec<f32>),
    /// Sparse: normal values (`fill`) and the zero mask.
    Sparse {
        /// The normal values' fill.
        fill: Fill,
        /// The mask.
        mask: SparseMask,
    },
    /// A zero-element tensor.
    Nothing,
}

impl Prepared {
    /// Does the host-side work of `plan` for `stream`.
    pub fn new(plan: &Plan, stream: Stream) -> Result<Self> {
        Ok(match &plan.work {
            Work::Elementwise(op) => Prepared::Elementwise(Fill { op: *op, stream }),
            Work::Orthogonal { rows, cols, gain } => Prepared::Matrix(orthogonal_matrix(*rows, *cols, *gain, stream)?),
            Work::Sparse { rows, cols, zeros_per_column, std } => Prepared::Sparse {
                fill: Fill { op: Op::Normal { mean: 0.0, std: *std as f32 }, stream },
                mask: sparse_mask(*rows, *cols, *zeros_per_column, stream)?,
            },
            Work::Nothing => Prepared::Nothing,
        })
    }
}

/// Checks that elements `first .. first + count` lie inside a tensor of `elements` elements.
pub(crate) fn check_range(first: u64, count: u64, elements: u64) -> Result<()> {
    match first.checked_add(count) {
        Some(end) if end <= elements => Ok(()),
        _ => Err(Error::InvalidShape(format!(
            "elements {first}..{} are outside the tensor's {elements} elements",
            first.saturating_add(count)
        ))),
    }
}
