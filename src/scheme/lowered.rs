//! Lowering the element-wise schemes to their f32 operations, with PyTorch's parameter checks
//! and error messages.

use crate::contract::op::Op;
use crate::contract::trunc_normal::TruncNormalParams;
use crate::error::{Error, Result};

/// `uniform_(a, b)`; errors as PyTorch's `uniform_` for `a > b`, bounds outside f32 and a span
/// that overflows f32. `a` and `b` are rounded to f32, and `b - a` is computed in f32.
pub(crate) fn uniform(a: f64, b: f64) -> Result<Op> {
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
    let (a, b) = (a as f32, b as f32);
    Ok(Op::Uniform { a, span: b - a })
}

/// `normal_(mean, std)`; `std < 0` is PyTorch's error, non-finite values are rejected too.
pub(crate) fn normal(mean: f64, std: f64) -> Result<Op> {
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
    Ok(Op::Normal { mean: mean as f32, std: std as f32 })
}

/// `trunc_normal_(mean, std, a, b)`: finite mean, `std > 0`, `a < b` (bounds may be infinite).
pub(crate) fn trunc_normal(mean: f64, std: f64, a: f64, b: f64) -> Result<Op> {
    TruncNormalParams::new(mean, std, a, b).map(Op::TruncNormal)
}

/// `constant_(val)`. A finite value beyond f32's range is PyTorch's overflow error; NaN and
/// infinities are allowed, as in PyTorch's `fill_`.
pub(crate) fn constant(val: f64) -> Result<Op> {
    if val.is_finite() && val.abs() > f64::from(f32::MAX) {
        return Err(Error::InvalidParameter(format!(
            "value cannot be converted to type float without overflow: {val}"
        )));
    }
    Ok(Op::Constant { val: val as f32 })
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

    fn message(r: Result<Op>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn pytorch_error_messages() {
        assert_eq!(
            message(uniform(2.5, -1.0)),
            "uniform_ expects to return a [from, to) range, but found from=2.5 > to=-1"
        );
        assert_eq!(message(uniform(f64::NAN, 1.0)), "from is out of bounds for Float");
        assert_eq!(message(uniform(0.0, f64::INFINITY)), "to is out of bounds for Float");
        assert!(message(uniform(-3e38, 3e38)).starts_with("uniform_ expects to-from <="));
        assert_eq!(message(normal(0.0, -1.0)), "normal expects std >= 0.0, but found std -1");
        assert_eq!(message(normal(0.0, f64::NAN)), "normal expects std >= 0.0, but found std NaN");
        assert!(message(normal(f64::INFINITY, 1.0)).contains("finite"));
        assert!(message(constant(1e300)).contains("without overflow"));
    }

    #[test]
    fn accepted_parameters() {
        assert!(uniform(1.0, 1.0).is_ok());
        assert!(normal(0.0, 0.0).is_ok());
        assert!(constant(f64::NEG_INFINITY).is_ok());
        assert_eq!(constant(1.0).unwrap(), Op::Constant { val: 1.0 });
    }
}
