//! The initialization schemes, with PyTorch's parameters and PyTorch's errors.

use crate::error::{Error, Result};

/// An initialization scheme with its parameters, as `torch.nn.init` names them.
///
/// Build one with the constructors, which check parameters as PyTorch does (the variants cannot be
/// built directly outside this crate, so a `Scheme` always holds valid parameters):
///
/// ```
/// use nninit::Scheme;
/// assert!(Scheme::uniform(-1.0, 1.0).is_ok());
/// let err = Scheme::uniform(1.0, 0.0).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "uniform_ expects to return a [from, to) range, but found from=1 > to=0"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scheme {
    /// `uniform_(a, b)`: values `a + (b - a) u` with `u` the unit uniform.
    #[non_exhaustive]
    Uniform {
        /// Lower bound (inclusive).
        a: f64,
        /// Upper bound (exclusive, up to f32 rounding).
        b: f64,
    },
    /// `normal_(mean, std)`: Box-Muller normal values.
    #[non_exhaustive]
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (`>= 0`).
        std: f64,
    },
    /// `trunc_normal_(mean, std, a, b)`: the normal truncated to `[a, b]`, by exact inverse CDF.
    #[non_exhaustive]
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
    /// `constant_(val)`; `ones_` and `zeros_` are constants 1 and 0.
    #[non_exhaustive]
    Constant {
        /// The value (NaN and infinities are allowed, as in PyTorch's `fill_`).
        val: f64,
    },
}

impl Scheme {
    /// `uniform_(a, b)`; errors as PyTorch's `uniform_` for `a > b`, bounds outside f32 and a span
    /// that overflows f32.
    pub fn uniform(a: f64, b: f64) -> Result<Self> {
        check_in_f32_range("from", a)?;
        check_in_f32_range("to", b)?;
        if a > b {
            return Err(Error::InvalidParameter(format!(
                "uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
            )));
        }
        if b - a > f64::from(f32::MAX) {
            return Err(Error::InvalidParameter(format!(
                "uniform_ expects to-from <= std::numeric_limits<float>::max(), but found to={b} and from={a} which result in to-from to exceed the limit"
            )));
        }
        Ok(Self::Uniform { a, b })
    }

    /// `normal_(mean, std)`; `std < 0` is PyTorch's error, non-finite values are rejected too.
    pub fn normal(mean: f64, std: f64) -> Result<Self> {
        if std.is_nan() || std < 0.0 {
            return Err(Error::InvalidParameter(format!("normal expects std >= 0.0, but found std {std}")));
        }
        if !mean.is_finite() || !std.is_finite() {
            return Err(Error::InvalidParameter(format!(
                "normal expects finite mean and std, but found mean={mean} and std={std}"
            )));
        }
        check_in_f32_range("mean", mean)?;
        check_in_f32_range("std", std)?;
        Ok(Self::Normal { mean, std })
    }

    /// `trunc_normal_(mean, std, a, b)`: finite mean, `std > 0`, `a < b` (bounds may be infinite).
    pub fn trunc_normal(mean: f64, std: f64, a: f64, b: f64) -> Result<Self> {
        crate::trunc_normal::TruncNormalParams::new(mean, std, a, b)?;
        Ok(Self::TruncNormal { mean, std, a, b })
    }

    /// `constant_(val)`. A finite value beyond f32's range is PyTorch's overflow error.
    pub fn constant(val: f64) -> Result<Self> {
        if val.is_finite() && val.abs() > f64::from(f32::MAX) {
            return Err(Error::InvalidParameter(format!(
                "value cannot be converted to type float without overflow: {val}"
            )));
        }
        Ok(Self::Constant { val })
    }

    /// `ones_`.
    pub fn ones() -> Self {
        Self::Constant { val: 1.0 }
    }

    /// `zeros_`.
    pub fn zeros() -> Self {
        Self::Constant { val: 0.0 }
    }

    /// The scheme's name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Uniform { .. } => "uniform",
            Self::Normal { .. } => "normal",
            Self::TruncNormal { .. } => "trunc_normal",
            Self::Constant { .. } => "constant",
        }
    }
}

fn check_in_f32_range(what: &str, x: f64) -> Result<()> {
    if x >= f64::from(f32::MIN) && x <= f64::from(f32::MAX) {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!("{what} is out of bounds for Float")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<Scheme>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn pytorch_error_messages() {
        assert_eq!(
            message(Scheme::uniform(2.5, -1.0)),
            "uniform_ expects to return a [from, to) range, but found from=2.5 > to=-1"
        );
        assert_eq!(message(Scheme::uniform(f64::NAN, 1.0)), "from is out of bounds for Float");
        assert_eq!(message(Scheme::uniform(0.0, f64::INFINITY)), "to is out of bounds for Float");
        assert!(message(Scheme::uniform(-3e38, 3e38)).starts_with("uniform_ expects to-from <="));
        assert_eq!(message(Scheme::normal(0.0, -1.0)), "normal expects std >= 0.0, but found std -1");
        assert_eq!(message(Scheme::normal(0.0, f64::NAN)), "normal expects std >= 0.0, but found std NaN");
        assert!(message(Scheme::normal(f64::INFINITY, 1.0)).contains("finite"));
        assert!(message(Scheme::constant(1e300)).contains("without overflow"));
    }

    #[test]
    fn accepted_parameters() {
        assert!(Scheme::uniform(1.0, 1.0).is_ok());
        assert!(Scheme::normal(0.0, 0.0).is_ok());
        assert!(Scheme::constant(f64::NEG_INFINITY).is_ok());
        assert_eq!(Scheme::ones(), Scheme::Constant { val: 1.0 });
    }
}
