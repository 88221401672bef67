//! Summary statistics and histograms, accumulated piece by piece.

/// Count, mean, standard deviation, extremes and zeros of a tensor's values.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Values seen.
    pub count: u64,
    /// Their mean (finite values).
    pub mean: f64,
    /// Their population standard deviation (finite values).
    pub std: f64,
    /// The smallest finite value.
    pub min: f64,
    /// The largest finite value.
    pub max: f64,
    /// Exact zeros (either sign).
    pub zeros: u64,
    /// NaNs and infinities.
    pub non_finite: u64,
    #[serde(skip)]
    finite: u64,
    #[serde(skip)]
    m2: f64,
}

impl Default for Summary {
    fn default() -> Self {
        Self {
            count: 0,
            mean: 0.0,
            std: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            zeros: 0,
            non_finite: 0,
            finite: 0,
            m2: 0.0,
        }
    }
}

impl Summary {
    /// Adds values (Chan et al.'s parallel update of mean and squared deviations).
    pub fn add(&mut self, values: &[f64]) {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        self.non_finite += (values.len() - finite.len()) as u64;
        self.zeros += values.iter().filter(|&&v| v == 0.0).count() as u64;
        let n_before = self.finite as f64;
        self.count += values.len() as u64;
        self.finite += finite.len() as u64;
        if finite.is_empty() {
            return;
        }
        let n = finite.len() as f64;
        let mean = finite.iter().sum::<f64>() / n;
        let m2 = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
        let total = n_before + n;
        let delta = mean - self.mean;
        self.mean += delta * n / total;
        self.m2 += m2 + delta * delta * n_before * n / total;
        self.std = (self.m2 / total).sqrt();
        self.min = finite.iter().copied().fold(self.min, f64::min);
        self.max = finite.iter().copied().fold(self.max, f64::max);
    }

    /// Fraction of exact zeros.
    pub fn zero_fraction(&self) -> f64 {
        self.zeros as f64 / self.count.max(1) as f64
    }
}

/// Counts of values in equal bins over `[lo, hi]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub lo: f64,
    /// Right edge of the last bin.
    pub hi: f64,
    /// Finite values per bin.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// `bins` empty bins over `[lo, hi]` (widened around a single value).
    pub fn new(lo: f64, hi: f64, bins: usize) -> Self {
        let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5 * lo.abs().max(1.0), hi + 0.5 * hi.abs().max(1.0)) };
        Self { lo, hi, counts: vec![0; bins.max(1)] }
    }

    /// Counts values (values outside `[lo, hi]` and non-finite ones are left out).
    pub fn add(&mut self, values: &[f64]) {
        let bins = self.counts.len();
        let scale = bins as f64 / (self.hi - self.lo);
        for &v in values {
            if v >= self.lo && v <= self.hi {
                let bin = (((v - self.lo) * scale) as usize).min(bins - 1);
                self.counts[bin] += 1;
            }
        }
    }
}
