//! Which elements of a logical tensor a fill writes: all, a range, or a shard.
//!
//! Shards: rows `[r0, r1)` and/or columns `[c0, c1)` of a logical tensor, filled with exactly
//! their slice of the full tensor, so tensor-parallel engines initialize a model across GPUs or
//! hosts without talking to each other.
//!
//! Rows index the leading dim (of any N-D tensor); columns index dim 1 of a 2-D tensor. Element-
//! wise schemes compute only the shard. Orthogonal and sparse compute their whole matrix or mask
//! on the host (on every shard) and keep the shard's slice, so a shard is still exactly its slice
//! of the full tensor.

use std::ops::Range;

use crate::error::{Error, Result};

/// A block of a logical tensor: a range of the leading dim and, for 2-D tensors, of dim 1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shard {
    /// Rows (leading dim); `None` is all of them.
    pub rows: Option<Range<u64>>,
    /// Columns (dim 1 of a 2-D tensor); `None` is all of them.
    pub cols: Option<Range<u64>>,
}

impl Shard {
    /// The whole tensor.
    pub fn full() -> Self {
        Self::default()
    }

    /// The shard's shape within a tensor of `shape`, after checking its ranges.
    ///
    /// ```
    /// use nninit::Shard;
    /// let shard = Shard { rows: Some(2..5), cols: Some(10..20) };
    /// assert_eq!(shard.shape(&[8, 32])?, [3, 10]);
    /// assert!(Shard { rows: None, cols: Some(0..1) }.shape(&[4, 4, 4]).is_err());
    /// # Ok::<(), nninit::Error>(())
    /// ```
    pub fn shape(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let mut out = shape.to_vec();
        if let Some(rows) = &self.rows {
            let dim = *shape.first().ok_or_else(|| Error::InvalidShape("a 0-D tensor has no rows".into()))?;
            check_range("rows", rows, dim as u64)?;
            out[0] = (rows.end - rows.start) as usize;
        }
        if let Some(cols) = &self.cols {
            if shape.len() != 2 {
                return Err(Error::InvalidShape(format!("--cols needs a 2-D tensor, not {shape:?}")));
            }
            check_range("cols", cols, shape[1] as u64)?;
            out[1] = (cols.end - cols.start) as usize;
        }
        Ok(out)
    }

    /// The shard as a file's metadata records it (`nninit.shard`): `{"rows": [start, end] or
    /// null, "cols": [start, end] or null}`, null being all of them.
    ///
    /// ```
    /// use nninit::Shard;
    /// let shard = Shard { rows: Some(2..5), cols: None };
    /// assert_eq!(shard.to_json().to_string(), r#"{"cols":null,"rows":[2,5]}"#);
    /// assert_eq!(Shard::from_json(&shard.to_json()), Some(shard));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let range = |r: &Option<Range<u64>>| r.as_ref().map(|r| [r.start, r.end]);
        serde_json::json!({"rows": range(&self.rows), "cols": range(&self.cols)})
    }

    /// The shard from the form [`Shard::to_json`] writes; `None` for anything else.
    pub fn from_json(json: &serde_json::Value) -> Option<Self> {
        let range = |key: &str| -> Option<Option<Range<u64>>> {
            match json.get(key)? {
                serde_json::Value::Null => Some(None),
                serde_json::Value::Array(r) if r.len() == 2 => Some(Some(r[0].as_u64()?..r[1].as_u64()?)),
                _ => None,
            }
        };
        Some(Self { rows: range("rows")?, cols: range("cols")? })
    }

    /// The logical element ranges of the shard, in its row-major order (contiguous runs merged).
    pub fn segments(&self, shape: &[usize]) -> Result<Vec<Range<u64>>> {
        self.shape(shape)?;
        block_segments(&self.block(shape), shape)
    }

    /// The shard as a box of a tensor of `shape` (whose ranges [`Shard::shape`] has checked):
    /// its rows of dim 0, its columns of dim 1, every other dim whole.
    fn block(&self, shape: &[usize]) -> Vec<Range<u64>> {
        let mut block: Vec<Range<u64>> = shape.iter().map(|&d| 0..d as u64).collect();
        if let Some(rows) = &self.rows {
            block[0] = rows.clone();
        }
        if let Some(cols) = &self.cols {
            block[1] = cols.clone();
        }
        block
    }
}

fn check_range(what: &str, range: &Range<u64>, dim: u64) -> Result<()> {
    if range.start <= range.end && range.end <= dim {
        Ok(())
    } else {
        Err(Error::InvalidShape(format!("{what} {}:{} are outside 0:{dim}", range.start, range.end)))
    }
}

/// Which logical elements of a tensor a fill writes, packed densely one after the other in
/// their row-major order: the "where" of a fill inside its tensor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Region {
    /// Every element.
    #[default]
    All,
    /// Elements `start .. end` of the row-major tensor.
    Elements(Range<u64>),
    /// A block of rows and columns, as a dense tensor of the shard's shape.
    Shard(Shard),
    /// A box of an N-D tensor, one range per dimension, as a dense tensor of the box's shape:
    /// e.g. a DTensor's local shard under `Shard(d)` placements on any dimensions.
    ///
    /// ```
    /// use nninit::{cpu::CpuBackend, Dtype, Fill, Region, Scheme, Stream};
    /// let fill = Fill::new(&Scheme::normal(0.0, 1.0)?, &[4, 6, 8], Stream::new(7, 0))?;
    /// let cpu = CpuBackend::new();
    /// let mut whole = vec![0f32; 4 * 6 * 8];
    /// cpu.fill(&fill, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut whole))?;
    /// // Dims 0 and 1 whole, the last dimension's elements 2..5: three of every eight.
    /// let mut block = vec![0f32; 4 * 6 * 3];
    /// cpu.fill(&fill, &Region::Block(vec![0..4, 0..6, 2..5]), Dtype::F32, bytemuck::cast_slice_mut(&mut block))?;
    /// assert_eq!(block[..3], whole[2..5]);
    /// assert_eq!(block[3..6], whole[10..13]);
    /// # Ok::<(), nninit::Error>(())
    /// ```
    Block(Vec<Range<u64>>),
}

/// The shape of the box `block` of a tensor of `shape` (one range per dimension), after
/// checking that it lies inside it.
pub(crate) fn block_shape(block: &[Range<u64>], shape: &[usize]) -> Result<Vec<usize>> {
    if block.len() != shape.len() {
        return Err(Error::InvalidShape(format!(
            "a block of {} ranges for a tensor of {} dimensions {shape:?}",
            block.len(),
            shape.len()
        )));
    }
    block
        .iter()
        .zip(shape)
        .enumerate()
        .map(|(d, (range, &dim))| {
            check_range(&format!("dim {d}'s elements"), range, dim as u64)?;
            Ok((range.end - range.start) as usize)
        })
        .collect()
}

/// The logical element ranges of the box `block` of a tensor of `shape`, in row-major order,
/// contiguous runs merged.
fn block_segments(block: &[Range<u64>], shape: &[usize]) -> Result<Vec<Range<u64>>> {
    let sizes = block_shape(block, shape)?;
    if sizes.contains(&0) {
        return Ok(Vec::new());
    }
    // The trailing dims the box covers whole, and the one before them, make one run per index of
    // the dims before that.
    let mut inner = shape.len();
    while inner > 0 && block[inner - 1].start == 0 && block[inner - 1].end == shape[inner - 1] as u64 {
        inner -= 1;
    }
    let whole: u64 = shape[inner..].iter().map(|&d| d as u64).product();
    if inner == 0 {
        return Ok(std::iter::once(0..whole).collect());
    }
    let last = inner - 1;
    let strides: Vec<u64> = (0..shape.len()).map(|d| shape[d + 1..].iter().map(|&x| x as u64).product()).collect();
    let runs: u64 = sizes[..last].iter().map(|&s| s as u64).product();
    let mut segments = Vec::with_capacity(usize::try_from(runs).unwrap_or(0));
    let mut index: Vec<u64> = block[..last].iter().map(|r| r.start).collect();
    for _ in 0..runs {
        let base: u64 = index.iter().zip(&strides).map(|(i, s)| i * s).sum::<u64>();
        let start = base + block[last].start * strides[last];
        segments.push(start..start + (block[last].end - block[last].start) * whole);
        // The next index of the outer dims, the last of them fastest.
        for d in (0..last).rev() {
            index[d] += 1;
            if index[d] < block[d].end {
                break;
            }
            index[d] = block[d].start;
        }
    }
    Ok(segments)
}

impl Region {
    /// The logical element ranges of the region in a tensor of `elements` elements, whose shape is
    /// `shape` where it has one (raw words have none), after checking that they lie inside it.
    pub(crate) fn segments(&self, shape: Option<&[usize]>, elements: Option<u64>) -> Result<Vec<Range<u64>>> {
        match self {
            Region::All => match elements {
                Some(n) => Ok(std::iter::once(0..n).collect()),
                None => Err(Error::InvalidShape("raw words have no end: give an element range".into())),
            },
            Region::Elements(range) => {
                let fits = range.start <= range.end && elements.is_none_or(|n| range.end <= n);
                if !fits {
                    return Err(Error::InvalidShape(format!(
                        "elements {}..{} are outside the tensor's {} elements",
                        range.start,
                        range.end,
                        elements.unwrap_or(u64::MAX)
                    )));
                }
                Ok(std::iter::once(range.clone()).collect())
            }
            Region::Shard(shard) => match shape {
                Some(shape) => shard.segments(shape),
                None => Err(Error::InvalidShape("raw words have no shape to shard".into())),
            },
            Region::Block(block) => match shape {
                Some(shape) => block_segments(block, shape),
                None => Err(Error::InvalidShape("raw words have no shape to cut a block from".into())),
            },
        }
    }
}

/// `segments` (empty ones dropped) cut into batches of at most `capacity` elements in all, in
/// order: a segment longer than what is left of a batch continues in the next.
pub(crate) fn batches(segments: Vec<Range<u64>>, capacity: u64) -> impl Iterator<Item = Vec<Range<u64>>> {
    let capacity = capacity.max(1);
    let mut pending: std::collections::VecDeque<_> = segments.into_iter().filter(|s| !s.is_empty()).collect();
    std::iter::from_fn(move || {
        let mut batch = Vec::new();
        let mut in_batch = 0u64;
        while in_batch < capacity {
            let Some(segment) = pending.pop_front() else { break };
            let take = (segment.end - segment.start).min(capacity - in_batch);
            batch.push(segment.start..segment.start + take);
            in_batch += take;
            if take < segment.end - segment.start {
                pending.push_front(segment.start + take..segment.end);
            }
        }
        (!batch.is_empty()).then_some(batch)
    })
}

impl From<Range<u64>> for Region {
    fn from(range: Range<u64>) -> Self {
        Region::Elements(range)
    }
}

impl From<Shard> for Region {
    fn from(shard: Shard) -> Self {
        Region::Shard(shard)
    }
}
