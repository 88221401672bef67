//! A [`Fill`]: a scheme resolved for a shape, with its stream and its host-side work done. It is
//! the "what" that every backend fills any region of.

use std::ops::Range;
use std::sync::Arc;

use super::plan::{Lowered, Plan};
use super::region::Region;
use super::sparse::{sparse_mask, SparseMask};
use super::Scheme;
use crate::contract::op::Op;
use crate::contract::stream::Stream;
use crate::error::{Error, Result};

/// What to fill: a scheme resolved for a tensor's shape ([`Plan`]) and the [`Stream`] its values
/// come from, with the host-side work of `orthogonal` (the matrix) and `sparse` (the zero mask)
/// done once, so any region of the tensor can then be filled, on any backend, any number of
/// times. Cloning is cheap.
///
/// ```
/// use nninit::{cpu::CpuBackend, Dtype, Fill, Region, Scheme, Stream};
/// let fill = Fill::new(&Scheme::normal(0.0, 1.0)?, &[8, 8], Stream::new(42, 0))?;
/// let mut whole = vec![0f32; 64];
/// CpuBackend::new().fill(&fill, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut whole))?;
/// // Any part holds exactly its slice of the tensor.
/// let mut part = vec![0f32; 10];
/// CpuBackend::new().fill(&fill, &Region::Elements(17..27), Dtype::F32, bytemuck::cast_slice_mut(&mut part))?;
/// assert_eq!(part, whole[17..27]);
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Fill {
    /// `None` for raw words, which have no shape.
    plan: Option<Plan>,
    stream: Stream,
    prepared: Prepared,
    /// A row written as zeros after the scheme ([`Fill::with_zero_row`]), and its elements.
    zero_row: Option<(u64, Range<u64>)>,
}

/// A plan with its host-side work done: what the backends execute.
#[derive(Clone, Debug)]
pub(crate) enum Prepared {
    /// An element-wise operation on the fill's stream.
    Elementwise(Op),
    /// Given values, row-major (orthogonal's matrix, or pretrained values), as f32.
    Values(Arc<Vec<f32>>),
    /// Sparse: normal values (`op`) and the zero mask.
    Sparse {
        /// The normal values' operation.
        op: Op,
        /// The mask.
        mask: Arc<SparseMask>,
    },
    /// A zero-element tensor.
    Nothing,
}

impl Fill {
    /// `scheme` resolved for a tensor of `shape`, drawing from `stream`; orthogonal's QR and
    /// sparse's mask are computed here, on the CPU.
    pub fn new(scheme: &Scheme, shape: &[usize], stream: Stream) -> Result<Self> {
        Self::from_plan(&Plan::new(scheme, shape)?, stream)
    }

    /// A resolved plan with `stream`.
    pub fn from_plan(plan: &Plan, stream: Stream) -> Result<Self> {
        let prepared = match &plan.lowered {
            Lowered::Elementwise(op) => Prepared::Elementwise(*op),
            Lowered::Orthogonal { rows, cols, gain } => {
                Prepared::Values(Arc::new(orthogonal(*rows, *cols, *gain, stream)?))
            }
            Lowered::Sparse { rows, cols, zeros_per_column, std } => Prepared::Sparse {
                op: Op::Normal { mean: 0.0, std: *std as f32 },
                mask: Arc::new(sparse_mask(*rows, *cols, *zeros_per_column, stream)?),
            },
            Lowered::Nothing => Prepared::Nothing,
        };
        Ok(Self { plan: Some(plan.clone()), stream, prepared, zero_row: None })
    }

    /// The raw 32-bit words of `stream` (Philox's output, element `i` being word `i % 4` of block
    /// `i / 4`): for testing streams and piping them elsewhere. Raw words have no shape, so they
    /// are filled by element range.
    pub fn raw_words(stream: Stream) -> Self {
        Self { plan: None, stream, prepared: Prepared::Elementwise(Op::Bits), zero_row: None }
    }

    /// A tensor of `shape` holding `values` (row-major f32, converted to the target's dtype by
    /// the same kernels), as for pretrained weights.
    pub(crate) fn from_values(shape: &[usize], values: Vec<f32>) -> Result<Self> {
        let plan = Plan::new(&Scheme::zeros(), shape)?;
        if values.len() as u64 != plan.elements() {
            return Err(Error::InvalidShape(format!("{} values for shape {shape:?}", values.len())));
        }
        Ok(Self {
            plan: Some(plan),
            stream: Stream::default(),
            prepared: Prepared::Values(Arc::new(values)),
            zero_row: None,
        })
    }

    /// The same fill with row `row` of the leading dim written as zeros after the scheme, as
    /// `nn.Embedding(padding_idx=row)` leaves it (and transformers' `_init_weights`, for the
    /// config's `pad_token_id`). Every other value is unchanged, and any region or shard holds
    /// exactly its slice of that tensor, on every backend.
    ///
    /// ```
    /// use nninit::{cpu::CpuBackend, Dtype, Fill, Region, Scheme, Stream};
    /// let drawn = Fill::new(&Scheme::normal(0.0, 0.02)?, &[10, 4], Stream::new(1, 0))?;
    /// let padded = drawn.clone().with_zero_row(3)?;
    /// let (mut a, mut b) = (vec![0f32; 40], vec![0f32; 40]);
    /// CpuBackend::new().fill(&drawn, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut a))?;
    /// CpuBackend::new().fill(&padded, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut b))?;
    /// assert_eq!(b[12..16], [0.0; 4]);
    /// assert_eq!((&a[..12], &a[16..]), (&b[..12], &b[16..]));
    /// assert!(drawn.with_zero_row(10).is_err());
    /// # Ok::<(), nninit::Error>(())
    /// ```
    pub fn with_zero_row(mut self, row: u64) -> Result<Self> {
        let plan = self.plan.as_ref().ok_or_else(|| Error::InvalidParameter("raw words have no rows".into()))?;
        self.zero_row = Some((row, row_elements(plan.shape(), row)?));
        Ok(self)
    }

    /// `nn.Embedding`'s `padding_idx` for a tensor of `rows` rows as the row to pass to
    /// [`Fill::with_zero_row`]: a negative index counts from the end; `None` outside
    /// `-rows..rows`, where PyTorch fails with "Padding_idx must be within num_embeddings".
    ///
    /// ```
    /// use nninit::Fill;
    /// assert_eq!(Fill::padding_row(-1, 1000), Some(999));
    /// assert_eq!(Fill::padding_row(5, 1000), Some(5));
    /// assert_eq!((Fill::padding_row(1000, 1000), Fill::padding_row(-1001, 1000)), (None, None));
    /// ```
    pub fn padding_row(padding_idx: i64, rows: u64) -> Option<u64> {
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        (-rows..rows).contains(&padding_idx).then(|| padding_idx.rem_euclid(rows) as u64)
    }

    /// The row written as zeros, if any ([`Fill::with_zero_row`]).
    pub fn zero_row(&self) -> Option<u64> {
        self.zero_row.as_ref().map(|(row, _)| *row)
    }

    /// The logical elements `segment` cut where the zero row begins and ends: its pieces in
    /// order, each with whether it lies in that row (and is written as zeros).
    pub(crate) fn cut_at_zero_row(&self, segment: &Range<u64>) -> impl Iterator<Item = (Range<u64>, bool)> {
        let s = segment.clone();
        let zeroed = match &self.zero_row {
            Some((_, z)) if z.start < s.end && s.start < z.end => s.start.max(z.start)..s.end.min(z.end),
            _ => s.end..s.end,
        };
        [(s.start..zeroed.start, false), (zeroed.clone(), true), (zeroed.end..s.end, false)]
            .into_iter()
            .filter(|(piece, _)| !piece.is_empty())
    }

    /// The plan: the scheme and the numbers PyTorch computes for the shape (`None` for raw words).
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// The stream the values come from.
    pub fn stream(&self) -> Stream {
        self.stream
    }

    /// The tensor's number of elements (`None` for raw words: unbounded).
    pub fn elements(&self) -> Option<u64> {
        self.plan.as_ref().map(Plan::elements)
    }

    /// What the backends execute.
    pub(crate) fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// The logical element ranges of `region`, checked against the tensor.
    pub(crate) fn segments(&self, region: &Region) -> Result<Vec<Range<u64>>> {
        region.segments(self.plan.as_ref().map(|p| p.shape()), self.elements())
    }
}

/// The logical elements of row `row` (of the leading dim) of a tensor of `shape`, or PyTorch's
/// error where there is no such row.
pub(crate) fn row_elements(shape: &[usize], row: u64) -> Result<Range<u64>> {
    let rows = match shape.first() {
        Some(&rows) => rows as u64,
        None => return Err(Error::InvalidShape("a 0-D tensor has no rows to zero".into())),
    };
    if row >= rows {
        return Err(Error::InvalidParameter(format!(
            "Padding_idx must be within num_embeddings: row {row} of a tensor with {rows} rows"
        )));
    }
    let per_row: u64 = shape[1..].iter().map(|&d| d as u64).product();
    Ok(row * per_row..(row + 1) * per_row)
}

#[cfg(feature = "orthogonal")]
fn orthogonal(rows: u64, cols: u64, gain: f64, stream: Stream) -> Result<Vec<f32>> {
    super::orthogonal::orthogonal_matrix(rows, cols, gain, stream)
}

#[cfg(not(feature = "orthogonal"))]
fn orthogonal(_rows: u64, _cols: u64, _gain: f64, _stream: Stream) -> Result<Vec<f32>> {
    Err(Error::InvalidParameter(
        "orthogonal needs nninit's `orthogonal` feature (Householder QR through faer), which this build lacks".into(),
    ))
}
