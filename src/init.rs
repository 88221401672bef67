//! `Init`: every function of `torch.nn.init`, with PyTorch's parameters and defaults.

use crate::error::{Error, Result};

/// A `torch.nn.init` function and its parameters (named as in PyTorch, without the trailing `_`).
///
/// In JSON (model specs, rule files, file metadata) it is an object tagged by `scheme`; parameters
/// left out take PyTorch's defaults: `{"scheme": "kaiming_normal", "mode": "fan_out",
/// "nonlinearity": "relu"}` is `kaiming_normal_(a=0, mode="fan_out", nonlinearity="relu")`.
///
/// Parameters that do not depend on the tensor's shape are checked by the constructors; the rest
/// (fans, modes, nonlinearities, dimensions) by [`crate::Plan::new`], in PyTorch's order.
///
/// ```
/// use nninit::{Init, Plan};
/// let plan = Plan::new(&Init::kaiming_normal(0.0, "fan_out", "relu"), &[64, 3, 7, 7])?;
/// assert_eq!(plan.fan_out, Some(64 * 49));
/// assert!((plan.std.unwrap() - (2.0f64 / 3136.0).sqrt()).abs() < 1e-15);
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Init {
    /// `uniform_(a, b)`.
    Uniform {
        /// Lower bound.
        #[serde(default)]
        a: f64,
        /// Upper bound.
        #[serde(default = "one")]
        b: f64,
    },
    /// `normal_(mean, std)`.
    Normal {
        /// Mean.
        #[serde(default)]
        mean: f64,
        /// Standard deviation.
        #[serde(default = "one")]
        std: f64,
    },
    /// `trunc_normal_(mean, std, a, b)`: the normal distribution truncated to `[a, b]` (absolute
    /// bounds, as in PyTorch).
    TruncNormal {
        /// Mean of the untruncated normal.
        #[serde(default)]
        mean: f64,
        /// Standard deviation of the untruncated normal.
        #[serde(default = "one")]
        std: f64,
        /// Lower bound.
        #[serde(default = "minus_two")]
        a: f64,
        /// Upper bound.
        #[serde(default = "two")]
        b: f64,
    },
    /// `constant_(val)`.
    Constant {
        /// The value.
        val: f64,
    },
    /// `ones_`.
    Ones,
    /// `zeros_`.
    Zeros,
    /// `eye_`: the identity, for 2-D tensors.
    Eye,
    /// `dirac_(groups)`: identity convolutions, for 3-, 4- and 5-D tensors.
    Dirac {
        /// Groups (dim 0 must be divisible by it).
        #[serde(default = "one_group")]
        groups: u64,
    },
    /// `xavier_uniform_(gain)` (Glorot & Bengio, 2010).
    XavierUniform {
        /// Gain.
        #[serde(default = "one")]
        gain: f64,
    },
    /// `xavier_normal_(gain)` (Glorot & Bengio, 2010).
    XavierNormal {
        /// Gain.
        #[serde(default = "one")]
        gain: f64,
    },
    /// `kaiming_uniform_(a, mode, nonlinearity)` (He et al., 2015).
    KaimingUniform {
        /// Negative slope of the rectifier after this layer (`leaky_relu` only).
        #[serde(default)]
        a: f64,
        /// `fan_in` or `fan_out` (case-insensitive).
        #[serde(default = "fan_in")]
        mode: String,
        /// The nonlinearity, as `calculate_gain` names it.
        #[serde(default = "leaky_relu")]
        nonlinearity: String,
    },
    /// `kaiming_normal_(a, mode, nonlinearity)` (He et al., 2015).
    KaimingNormal {
        /// Negative slope of the rectifier after this layer (`leaky_relu` only).
        #[serde(default)]
        a: f64,
        /// `fan_in` or `fan_out` (case-insensitive).
        #[serde(default = "fan_in")]
        mode: String,
        /// The nonlinearity, as `calculate_gain` names it.
        #[serde(default = "leaky_relu")]
        nonlinearity: String,
    },
    /// `orthogonal_(gain)` (Saxe et al., 2013).
    Orthogonal {
        /// Gain.
        #[serde(default = "one")]
        gain: f64,
    },
    /// `sparse_(sparsity, std)` (Martens, 2010): normal values with a fraction of zeros per column.
    Sparse {
        /// Fraction of each column set to zero, in `[0, 1]`.
        sparsity: f64,
        /// Standard deviation of the non-zero values.
        #[serde(default = "sparse_std")]
        std: f64,
    },
}

impl Init {
    /// `uniform_(a, b)`.
    pub fn uniform(a: f64, b: f64) -> Self {
        Self::Uniform { a, b }
    }
    /// `normal_(mean, std)`.
    pub fn normal(mean: f64, std: f64) -> Self {
        Self::Normal { mean, std }
    }
    /// `trunc_normal_(mean, std, a, b)`.
    pub fn trunc_normal(mean: f64, std: f64, a: f64, b: f64) -> Self {
        Self::TruncNormal { mean, std, a, b }
    }
    /// `xavier_uniform_(gain)`.
    pub fn xavier_uniform(gain: f64) -> Self {
        Self::XavierUniform { gain }
    }
    /// `xavier_normal_(gain)`.
    pub fn xavier_normal(gain: f64) -> Self {
        Self::XavierNormal { gain }
    }
    /// `kaiming_uniform_(a, mode, nonlinearity)`.
    pub fn kaiming_uniform(a: f64, mode: &str, nonlinearity: &str) -> Self {
        Self::KaimingUniform { a, mode: mode.into(), nonlinearity: nonlinearity.into() }
    }
    /// `kaiming_normal_(a, mode, nonlinearity)`.
    pub fn kaiming_normal(a: f64, mode: &str, nonlinearity: &str) -> Self {
        Self::KaimingNormal { a, mode: mode.into(), nonlinearity: nonlinearity.into() }
    }

    /// The name as the CLI and file metadata spell it (PyTorch's, without `_`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Uniform { .. } => "uniform",
            Self::Normal { .. } => "normal",
            Self::TruncNormal { .. } => "trunc_normal",
            Self::Constant { .. } => "constant",
            Self::Ones => "ones",
            Self::Zeros => "zeros",
            Self::Eye => "eye",
            Self::Dirac { .. } => "dirac",
            Self::XavierUniform { .. } => "xavier_uniform",
            Self::XavierNormal { .. } => "xavier_normal",
            Self::KaimingUniform { .. } => "kaiming_uniform",
            Self::KaimingNormal { .. } => "kaiming_normal",
            Self::Orthogonal { .. } => "orthogonal",
            Self::Sparse { .. } => "sparse",
        }
    }

    /// Checks the parameters that do not depend on the shape.
    pub fn check(&self) -> Result<()> {
        let finite = |name: &str, x: f64| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(Error::InvalidParameter(format!("{}: {name} must be finite, but found {x}", self.name())))
            }
        };
        match self {
            Self::XavierUniform { gain } | Self::XavierNormal { gain } | Self::Orthogonal { gain } => {
                finite("gain", *gain)
            }
            Self::KaimingUniform { a, .. } | Self::KaimingNormal { a, .. } => finite("a", *a),
            Self::Dirac { groups: 0 } => Err(Error::InvalidParameter("dirac: groups must be at least 1".into())),
            Self::Sparse { sparsity, std } => {
                if !(0.0..=1.0).contains(sparsity) {
                    return Err(Error::InvalidParameter(format!(
                        "sparse: sparsity must be in [0, 1], but found {sparsity}"
                    )));
                }
                crate::Scheme::normal(0.0, *std).map(|_| ())
            }
            _ => Ok(()),
        }
    }
}

// PyTorch's defaults, for serde.
fn one() -> f64 {
    1.0
}
fn two() -> f64 {
    2.0
}
fn minus_two() -> f64 {
    -2.0
}
fn one_group() -> u64 {
    1
}
fn sparse_std() -> f64 {
    0.01
}
fn fan_in() -> String {
    "fan_in".into()
}
fn leaky_relu() -> String {
    "leaky_relu".into()
}
