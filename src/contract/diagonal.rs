//! `eye_` and `dirac_`: ones on a (generalized) diagonal, zeros elsewhere, as one per-element rule.
//!
//! A tensor of shape `(out, in, k...)` is read as rows `(o, c)` of `spatial = prod(k)` elements.
//! Element `((o * in + c) * spatial + s)` is one iff `s` is the centre of the kernel window,
//! `c < min_dim` and `c == o % out_per_group`. `eye` is the case `spatial = 1`, one group.
//! The WGSL twin is `shaders/lib/diagonal.wgsl`.

/// The per-tensor constants of the diagonal rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiagonalParams {
    /// Dim 1 (`in` channels, or columns).
    pub in_channels: u64,
    /// Product of the dims after the first two (1 for `eye`).
    pub spatial: u64,
    /// Row-major index of the kernel window's centre, `sum (k_j / 2) * stride_j`.
    pub centre: u64,
    /// `out / groups`.
    pub out_per_group: u64,
    /// `min(out_per_group, in)`.
    pub min_dim: u64,
}

impl DiagonalParams {
    /// `eye_` on a `rows x cols` matrix.
    pub fn eye(rows: u64, cols: u64) -> Self {
        Self { in_channels: cols, spatial: 1, centre: 0, out_per_group: rows.max(1), min_dim: rows.min(cols) }
    }

    /// `dirac_(groups)` on a 3-, 4- or 5-D `shape` whose dim 0 is divisible by `groups`.
    pub fn dirac(shape: &[usize], groups: u64) -> Self {
        let out_per_group = (shape[0] as u64 / groups).max(1);
        let mut centre = 0u64;
        let mut spatial = 1u64;
        for &k in &shape[2..] {
            centre = centre * k as u64 + k as u64 / 2;
            spatial *= k as u64;
        }
        Self {
            in_channels: shape[1] as u64,
            spatial,
            centre,
            out_per_group,
            min_dim: out_per_group.min(shape[1] as u64),
        }
    }

    /// The logical indices of the ones within elements `range`, in increasing order.
    pub fn ones_in(&self, range: std::ops::Range<u64>) -> impl Iterator<Item = u64> + '_ {
        let row_len = self.in_channels.max(1) * self.spatial.max(1);
        let first_row = range.start / row_len;
        let end_row = range.end.div_ceil(row_len);
        (first_row..end_row)
            .filter_map(move |o| {
                let d = o % self.out_per_group.max(1);
                (d < self.min_dim).then(|| (o * self.in_channels + d) * self.spatial + self.centre)
            })
            .filter(move |i| range.contains(i))
    }
}
