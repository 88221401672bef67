//! Layer 2, schemes and planning: every `torch.nn.init` function as a [`Scheme`], resolved
//! against a shape into a [`Plan`] with PyTorch's numbers, and with a [`Stream`](crate::Stream)
//! into a [`Fill`] whose host-side work (orthogonal's matrix, sparse's mask) is done. Nothing
//! here calls a backend.

mod fill;
mod lowered;
#[cfg(feature = "orthogonal")]
mod orthogonal;
mod plan;
mod region;
mod sparse;

pub use fill::Fill;
pub(crate) use fill::{row_elements, Prepared};
pub(crate) use plan::Lowered;
pub use plan::{calculate_gain, fans, FanMode, Plan};
pub(crate) use region::{batches, block_shape};
pub use region::{Region, Shard};

use crate::error::{Error, Result};

/// A `torch.nn.init` function and its parameters, named as in PyTorch without the trailing `_`.
///
/// Made by its constructors, which check every parameter that does not depend on the tensor's
/// shape with PyTorch's messages, so a `Scheme` always holds valid parameters. Deserializing goes
/// through the same checks. The rest (fans, modes, nonlinearities, dimensions) is checked by
/// [`Plan::new`] against a shape, in PyTorch's order: as in PyTorch, a zero-element tensor is a
/// no-op for Kaiming whatever its mode and nonlinearity.
///
/// In JSON (model specs, rule files, file metadata) it is an object tagged by `scheme`;
/// parameters left out take PyTorch's defaults: `{"scheme": "kaiming_normal", "mode": "fan_out",
/// "nonlinearity": "relu"}` is `kaiming_normal_(a=0, mode="fan_out", nonlinearity="relu")`.
///
/// ```
/// use nninit::{Plan, Scheme};
/// let plan = Plan::new(&Scheme::kaiming_normal(0.0, "fan_out", "relu")?, &[64, 3, 7, 7])?;
/// assert_eq!(plan.fan_out(), Some(64 * 49));
/// let err = Scheme::uniform(1.0, 0.0).unwrap_err();
/// assert_eq!(err.to_string(), "uniform_ expects to return a [from, to) range, but found from=1 > to=0");
/// let parsed: Result<Scheme, _> = serde_json::from_str(r#"{"scheme": "normal", "std": -1}"#);
/// assert!(parsed.unwrap_err().to_string().contains("normal expects std >= 0.0"));
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Scheme(Kind);

/// The schemes and their parameters, as JSON spells them. Private: a [`Scheme`] is only made
/// through checks.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Kind {
    Uniform {
        #[serde(default)]
        a: f64,
        #[serde(default = "one")]
        b: f64,
    },
    Normal {
        #[serde(default)]
        mean: f64,
        #[serde(default = "one")]
        std: f64,
    },
    TruncNormal {
        #[serde(default)]
        mean: f64,
        #[serde(default = "one")]
        std: f64,
        #[serde(default = "minus_two")]
        a: f64,
        #[serde(default = "two")]
        b: f64,
    },
    Constant {
        #[serde(with = "non_finite")]
        val: f64,
    },
    Ones,
    Zeros,
    Eye,
    Dirac {
        #[serde(default = "one_group")]
        groups: u64,
    },
    XavierUniform {
        #[serde(default = "one")]
        gain: f64,
    },
    XavierNormal {
        #[serde(default = "one")]
        gain: f64,
    },
    KaimingUniform {
        #[serde(default)]
        a: f64,
        #[serde(default = "fan_in")]
        mode: String,
        #[serde(default = "leaky_relu")]
        nonlinearity: String,
    },
    KaimingNormal {
        #[serde(default)]
        a: f64,
        #[serde(default = "fan_in")]
        mode: String,
        #[serde(default = "leaky_relu")]
        nonlinearity: String,
    },
    Orthogonal {
        #[serde(default = "one")]
        gain: f64,
    },
    Sparse {
        sparsity: f64,
        #[serde(default = "sparse_std")]
        std: f64,
    },
}

impl Scheme {
    /// `uniform_(a, b)`: values `a + (b - a) u` with `u` the unit uniform.
    pub fn uniform(a: f64, b: f64) -> Result<Self> {
        Self::checked(Kind::Uniform { a, b })
    }
    /// `normal_(mean, std)`: Box-Muller normal values.
    pub fn normal(mean: f64, std: f64) -> Result<Self> {
        Self::checked(Kind::Normal { mean, std })
    }
    /// `trunc_normal_(mean, std, a, b)`: the normal truncated to `[a, b]` (absolute bounds, as in
    /// PyTorch), by exact inverse CDF.
    pub fn trunc_normal(mean: f64, std: f64, a: f64, b: f64) -> Result<Self> {
        Self::checked(Kind::TruncNormal { mean, std, a, b })
    }
    /// `constant_(val)` (NaN and infinities are allowed, as in PyTorch's `fill_`).
    pub fn constant(val: f64) -> Result<Self> {
        Self::checked(Kind::Constant { val })
    }
    /// `ones_`.
    pub fn ones() -> Self {
        Self(Kind::Ones)
    }
    /// `zeros_`.
    pub fn zeros() -> Self {
        Self(Kind::Zeros)
    }
    /// `eye_`: the identity, for 2-D tensors.
    pub fn eye() -> Self {
        Self(Kind::Eye)
    }
    /// `dirac_(groups)`: identity convolutions, for 3-, 4- and 5-D tensors.
    pub fn dirac(groups: u64) -> Result<Self> {
        Self::checked(Kind::Dirac { groups })
    }
    /// `xavier_uniform_(gain)` (Glorot & Bengio, 2010).
    pub fn xavier_uniform(gain: f64) -> Result<Self> {
        Self::checked(Kind::XavierUniform { gain })
    }
    /// `xavier_normal_(gain)` (Glorot & Bengio, 2010).
    pub fn xavier_normal(gain: f64) -> Result<Self> {
        Self::checked(Kind::XavierNormal { gain })
    }
    /// `kaiming_uniform_(a, mode, nonlinearity)` (He et al., 2015). `mode` is `fan_in` or
    /// `fan_out` (any case); `nonlinearity` as [`calculate_gain`] names it.
    pub fn kaiming_uniform(a: f64, mode: &str, nonlinearity: &str) -> Result<Self> {
        Self::checked(Kind::KaimingUniform { a, mode: mode.into(), nonlinearity: nonlinearity.into() })
    }
    /// `kaiming_normal_(a, mode, nonlinearity)` (He et al., 2015).
    pub fn kaiming_normal(a: f64, mode: &str, nonlinearity: &str) -> Result<Self> {
        Self::checked(Kind::KaimingNormal { a, mode: mode.into(), nonlinearity: nonlinearity.into() })
    }
    /// `orthogonal_(gain)` (Saxe et al., 2013); needs the `orthogonal` feature to fill.
    pub fn orthogonal(gain: f64) -> Result<Self> {
        Self::checked(Kind::Orthogonal { gain })
    }
    /// `sparse_(sparsity, std)` (Martens, 2010): normal values with a fraction of zeros per column.
    pub fn sparse(sparsity: f64, std: f64) -> Result<Self> {
        Self::checked(Kind::Sparse { sparsity, std })
    }

    /// The name as PyTorch spells it without the trailing `_` (and as the CLI and JSON do).
    pub fn name(&self) -> &'static str {
        match self.0 {
            Kind::Uniform { .. } => "uniform",
            Kind::Normal { .. } => "normal",
            Kind::TruncNormal { .. } => "trunc_normal",
            Kind::Constant { .. } => "constant",
            Kind::Ones => "ones",
            Kind::Zeros => "zeros",
            Kind::Eye => "eye",
            Kind::Dirac { .. } => "dirac",
            Kind::XavierUniform { .. } => "xavier_uniform",
            Kind::XavierNormal { .. } => "xavier_normal",
            Kind::KaimingUniform { .. } => "kaiming_uniform",
            Kind::KaimingNormal { .. } => "kaiming_normal",
            Kind::Orthogonal { .. } => "orthogonal",
            Kind::Sparse { .. } => "sparse",
        }
    }

    /// The scheme's parameters.
    pub(crate) fn kind(&self) -> &Kind {
        &self.0
    }

    /// `kind` after the checks that do not need a shape.
    fn checked(kind: Kind) -> Result<Self> {
        let scheme = Self(kind);
        let finite = |name: &str, x: f64| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(Error::InvalidParameter(format!("{}: {name} must be finite, but found {x}", scheme.name())))
            }
        };
        match &scheme.0 {
            Kind::Uniform { a, b } => lowered::uniform(*a, *b).map(drop)?,
            Kind::Normal { mean, std } => lowered::normal(*mean, *std).map(drop)?,
            Kind::TruncNormal { mean, std, a, b } => lowered::trunc_normal(*mean, *std, *a, *b).map(drop)?,
            Kind::Constant { val } => lowered::constant(*val).map(drop)?,
            Kind::XavierUniform { gain } | Kind::XavierNormal { gain } | Kind::Orthogonal { gain } => {
                finite("gain", *gain)?
            }
            Kind::KaimingUniform { a, .. } | Kind::KaimingNormal { a, .. } => finite("a", *a)?,
            Kind::Dirac { groups: 0 } => {
                return Err(Error::InvalidParameter("dirac: groups must be at least 1".into()))
            }
            Kind::Sparse { sparsity, std } => {
                if !(0.0..=1.0).contains(sparsity) {
                    return Err(Error::InvalidParameter(format!(
                        "sparse: sparsity must be in [0, 1], but found {sparsity}"
                    )));
                }
                lowered::normal(0.0, *std)?;
            }
            Kind::Ones | Kind::Zeros | Kind::Eye | Kind::Dirac { .. } => {}
        }
        Ok(scheme)
    }
}

impl serde::Serialize for Scheme {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Scheme {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Self::checked(Kind::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Scheme {
    /// The scheme as JSON, e.g. `{"scheme":"normal","mean":0.0,"std":0.02}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(&self.0).map_err(|_| std::fmt::Error)?)
    }
}

/// `constant`'s value in JSON: a number, or PyTorch's spelling of the values JSON has no number
/// for (`"nan"`, `"inf"`, `"-inf"`), so a file's metadata records them faithfully.
mod non_finite {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(val: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        match *val {
            v if v.is_nan() => serializer.serialize_str("nan"),
            f64::INFINITY => serializer.serialize_str("inf"),
            f64::NEG_INFINITY => serializer.serialize_str("-inf"),
            v => serializer.serialize_f64(v),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Value {
            Number(f64),
            Text(String),
        }
        match Value::deserialize(deserializer)? {
            Value::Number(v) => Ok(v),
            Value::Text(text) => match text.as_str() {
                "nan" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(serde::de::Error::custom(format!(
                    "val must be a number, \"nan\", \"inf\" or \"-inf\", not {text:?}"
                ))),
            },
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
