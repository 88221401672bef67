//! The distribution a scheme's values follow, resolved against the tensor's shape.

use crate::contract::stats::{normal_cdf, trunc_normal_cdf};
use crate::scheme::{Kind, Lowered, Plan};

/// What a tensor's values should look like.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum Distribution {
    /// Uniform on `[a, b]`.
    Uniform {
        /// Lower bound.
        a: f64,
        /// Upper bound.
        b: f64,
    },
    /// `normal(mean, std)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// `normal(mean, std)` truncated to `[a, b]`.
    TruncNormal {
        /// Mean of the untruncated normal.
        mean: f64,
        /// Its standard deviation.
        std: f64,
        /// Lower bound.
        a: f64,
        /// Upper bound.
        b: f64,
    },
    /// `sparse`: a fraction `zero_fraction` of exact zeros, the rest `normal(0, std)`.
    Sparse {
        /// Standard deviation of the non-zero values.
        std: f64,
        /// Fraction of zeros (`ceil(sparsity rows) / rows`).
        zero_fraction: f64,
    },
}

impl Distribution {
    /// The distribution of a planned random scheme; `None` for the deterministic and the
    /// orthogonal schemes, which are checked otherwise.
    pub fn of(plan: &Plan) -> Option<Self> {
        match (plan.scheme().kind(), &plan.lowered) {
            (_, Lowered::Nothing) => None,
            (Kind::Uniform { a, b }, _) => Some(Self::Uniform { a: *a, b: *b }),
            (Kind::Normal { mean, std }, _) => Some(Self::Normal { mean: *mean, std: *std }),
            (Kind::TruncNormal { mean, std, a, b }, _) => {
                Some(Self::TruncNormal { mean: *mean, std: *std, a: *a, b: *b })
            }
            (Kind::XavierUniform { .. } | Kind::KaimingUniform { .. }, _) => {
                plan.bound().map(|bound| Self::Uniform { a: -bound, b: bound })
            }
            (Kind::XavierNormal { .. } | Kind::KaimingNormal { .. }, _) => {
                plan.std().map(|std| Self::Normal { mean: 0.0, std })
            }
            (Kind::Sparse { .. }, Lowered::Sparse { rows, zeros_per_column, std, .. }) => {
                Some(Self::Sparse { std: *std, zero_fraction: *zeros_per_column as f64 / *rows as f64 })
            }
            _ => None,
        }
    }

    /// The CDF the KS test uses (for `Sparse`: of the non-zero values).
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            Self::Uniform { a, b } => ((x - a) / (b - a)).clamp(0.0, 1.0),
            Self::Normal { mean, std } => normal_cdf(x, mean, std),
            Self::TruncNormal { mean, std, a, b } => trunc_normal_cdf(x, mean, std, a, b),
            Self::Sparse { std, .. } => normal_cdf(x, 0.0, std),
        }
    }

    /// The density (for `Sparse`: of the non-zero part, scaled by its probability).
    pub fn pdf(&self, x: f64) -> f64 {
        let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        match *self {
            Self::Uniform { a, b } => {
                if (a..=b).contains(&x) {
                    1.0 / (b - a)
                } else {
                    0.0
                }
            }
            Self::Normal { mean, std } => phi((x - mean) / std) / std,
            Self::TruncNormal { mean, std, a, b } => {
                if (a..=b).contains(&x) {
                    phi((x - mean) / std) / std / self.mass()
                } else {
                    0.0
                }
            }
            Self::Sparse { std, zero_fraction } => (1.0 - zero_fraction) * phi(x / std) / std,
        }
    }

    /// `Phi(beta) - Phi(alpha)` of a truncated normal (1 otherwise).
    fn mass(&self) -> f64 {
        match *self {
            Self::TruncNormal { mean, std, a, b } => normal_cdf(b, mean, std) - normal_cdf(a, mean, std),
            _ => 1.0,
        }
    }

    /// The expected mean and standard deviation of the values (zeros included for `Sparse`).
    pub fn moments(&self) -> (f64, f64) {
        match *self {
            Self::Uniform { a, b } => ((a + b) / 2.0, (b - a) / 12f64.sqrt()),
            Self::Normal { mean, std } => (mean, std),
            Self::TruncNormal { mean, std, a, b } => {
                let phi = |z: f64| {
                    if z.is_finite() {
                        (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
                    } else {
                        0.0
                    }
                };
                let zphi = |z: f64| if z.is_finite() { z * phi(z) } else { 0.0 };
                let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
                let z = self.mass();
                let shift = (phi(alpha) - phi(beta)) / z;
                let variance = 1.0 + (zphi(alpha) - zphi(beta)) / z - shift * shift;
                (mean + std * shift, std * variance.max(0.0).sqrt())
            }
            Self::Sparse { std, zero_fraction } => (0.0, std * (1.0 - zero_fraction).sqrt()),
        }
    }

    /// One line, e.g. `normal(0, 0.02)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Uniform { a, b } => format!("uniform({a:.6}, {b:.6})"),
            Self::Normal { mean, std } => format!("normal({mean}, {std:.6})"),
            Self::TruncNormal { mean, std, a, b } => format!("trunc_normal({mean}, {std}, {a}, {b})"),
            Self::Sparse { std, zero_fraction } => {
                format!("{:.2}% zeros, the rest normal(0, {std})", zero_fraction * 100.0)
            }
        }
    }
}
