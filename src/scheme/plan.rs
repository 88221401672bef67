//! The planner: a scheme and a shape become concrete numbers (fans, gain, std, bound) and the work
//! a backend runs, with PyTorch's formulas, order of checks and error messages.

use super::lowered;
use super::{Kind, Scheme};
use crate::contract::diagonal::DiagonalParams;
use crate::contract::op::Op;
use crate::error::{Error, Result};

/// `(fan_in, fan_out)` as PyTorch's `_calculate_fan_in_and_fan_out`: `fan_in = dims[1] * rf`,
/// `fan_out = dims[0] * rf`, `rf` the product of `dims[2..]`.
///
/// ```
/// assert_eq!(nninit::fans(&[64, 3, 7, 7])?, (3 * 49, 64 * 49));
/// assert!(nninit::fans(&[5]).is_err());
/// # Ok::<(), nninit::Error>(())
/// ```
pub fn fans(shape: &[usize]) -> Result<(u64, u64)> {
    if shape.len() < 2 {
        return Err(Error::InvalidShape(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions".into(),
        ));
    }
    let receptive: u64 = shape[2..].iter().map(|&d| d as u64).product();
    Ok((shape[1] as u64 * receptive, shape[0] as u64 * receptive))
}

/// PyTorch's `calculate_gain(nonlinearity, param)`.
///
/// ```
/// use nninit::calculate_gain;
/// assert_eq!(calculate_gain("tanh", None)?, 5.0 / 3.0);
/// assert_eq!(calculate_gain("leaky_relu", None)?, (2.0f64 / (1.0 + 0.01 * 0.01)).sqrt());
/// assert_eq!(calculate_gain("gelu", None).unwrap_err().to_string(), "Unsupported nonlinearity gelu");
/// # Ok::<(), nninit::Error>(())
/// ```
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> Result<f64> {
    match nonlinearity {
        "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d" | "conv_transpose3d"
        | "sigmoid" => Ok(1.0),
        "tanh" => Ok(5.0 / 3.0),
        "relu" => Ok(2.0f64.sqrt()),
        "leaky_relu" => {
            let slope = param.unwrap_or(0.01);
            if !slope.is_finite() {
                return Err(Error::InvalidParameter(format!("negative_slope {slope} not a valid number")));
            }
            Ok((2.0 / (1.0 + slope * slope)).sqrt())
        }
        "selu" => Ok(3.0 / 4.0),
        other => Err(Error::InvalidParameter(format!("Unsupported nonlinearity {other}"))),
    }
}

/// Which fan Kaiming's formulas use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Preserves the variance of activations in the forward pass.
    FanIn,
    /// Preserves the variance of gradients in the backward pass.
    FanOut,
}

impl FanMode {
    /// Parses `fan_in` / `fan_out`, case-insensitively, with PyTorch's error.
    pub fn parse(mode: &str) -> Result<Self> {
        match mode.to_lowercase().as_str() {
            "fan_in" => Ok(Self::FanIn),
            "fan_out" => Ok(Self::FanOut),
            other => Err(Error::InvalidParameter(format!(
                "Mode {other} not supported, please use one of ['fan_in', 'fan_out']"
            ))),
        }
    }
}

/// What a backend does to fill a planned tensor: the scheme lowered to f32 operations and
/// host-side work.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lowered {
    /// Every element is a function of its index: one kernel pass.
    Elementwise(Op),
    /// Householder QR of a `rows x cols` Gaussian matrix from the stream, on the CPU.
    Orthogonal {
        /// Dim 0.
        rows: u64,
        /// The product of the other dims.
        cols: u64,
        /// The gain.
        gain: f64,
    },
    /// Normal values with exactly `zeros_per_column` zeros in every column.
    Sparse {
        /// Rows.
        rows: u64,
        /// Columns.
        cols: u64,
        /// `ceil(sparsity * rows)`.
        zeros_per_column: u64,
        /// Standard deviation of the values.
        std: f64,
    },
    /// A zero-element tensor (PyTorch: "Initializing zero-element tensors is a no-op").
    Nothing,
}

/// A scheme resolved against a shape: the numbers PyTorch computes, and the work to do.
#[derive(Clone, Debug, PartialEq)]
///
/// Read-only: its numbers are derived from the scheme and the shape together with the work the
/// backends run, so they can only change together (through [`Plan::new`]).
pub struct Plan {
    scheme: Scheme,
    shape: Vec<usize>,
    fan_in: Option<u64>,
    fan_out: Option<u64>,
    gain: Option<f64>,
    std: Option<f64>,
    bound: Option<f64>,
    /// What the backends run.
    pub(crate) lowered: Lowered,
}

impl Plan {
    /// The scheme.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// `fan_in`, where the scheme uses fans.
    pub fn fan_in(&self) -> Option<u64> {
        self.fan_in
    }

    /// `fan_out`, where the scheme uses fans.
    pub fn fan_out(&self) -> Option<u64> {
        self.fan_out
    }

    /// The gain, where the scheme has one.
    pub fn gain(&self) -> Option<f64> {
        self.gain
    }

    /// The standard deviation, where the scheme draws normal values or scales by one.
    pub fn std(&self) -> Option<f64> {
        self.std
    }

    /// The uniform bound (values in `[-bound, bound]`), for the symmetric uniform schemes.
    pub fn bound(&self) -> Option<f64> {
        self.bound
    }

    /// Resolves `scheme` for a tensor of `shape`, checking in PyTorch's order.
    pub fn new(scheme: &Scheme, shape: &[usize]) -> Result<Self> {
        let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
        let elements = elements.ok_or_else(|| Error::InvalidShape(format!("shape {shape:?} has too many elements")))?;
        let mut plan = Plan {
            scheme: scheme.clone(),
            shape: shape.to_vec(),
            fan_in: None,
            fan_out: None,
            gain: None,
            std: None,
            bound: None,
            lowered: Lowered::Nothing,
        };
        let elementwise = |op: Result<Op>| op.map(Lowered::Elementwise);
        plan.lowered = match scheme.kind() {
            Kind::Uniform { a, b } => elementwise(lowered::uniform(*a, *b))?,
            Kind::Normal { mean, std } => {
                plan.std = Some(*std);
                elementwise(lowered::normal(*mean, *std))?
            }
            Kind::TruncNormal { mean, std, a, b } => {
                plan.std = Some(*std);
                elementwise(lowered::trunc_normal(*mean, *std, *a, *b))?
            }
            Kind::Constant { val } => elementwise(lowered::constant(*val))?,
            Kind::Ones => elementwise(lowered::constant(1.0))?,
            Kind::Zeros => elementwise(lowered::constant(0.0))?,
            Kind::Eye => {
                if shape.len() != 2 {
                    return Err(Error::InvalidShape("Only tensors with 2 dimensions are supported".into()));
                }
                Lowered::Elementwise(Op::Diagonal(DiagonalParams::eye(shape[0] as u64, shape[1] as u64)))
            }
            Kind::Dirac { groups } => {
                if !(3..=5).contains(&shape.len()) {
                    return Err(Error::InvalidShape("Only tensors with 3, 4, or 5 dimensions are supported".into()));
                }
                if !(shape[0] as u64).is_multiple_of(*groups) {
                    return Err(Error::InvalidShape("dim 0 must be divisible by groups".into()));
                }
                Lowered::Elementwise(Op::Diagonal(DiagonalParams::dirac(shape, *groups)))
            }
            Kind::XavierUniform { gain } | Kind::XavierNormal { gain } => {
                let (fan_in, fan_out) = fans(shape)?;
                if fan_in + fan_out == 0 {
                    return Err(Error::InvalidShape(format!(
                        "{}: fan_in + fan_out is 0 for shape {shape:?} (float division by zero)",
                        scheme.name()
                    )));
                }
                let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
                let uniform = matches!(scheme.kind(), Kind::XavierUniform { .. });
                plan.variance_scaled(fan_in, fan_out, *gain, std, uniform)?
            }
            Kind::KaimingUniform { a, mode, nonlinearity } | Kind::KaimingNormal { a, mode, nonlinearity } => {
                if elements == 0 {
                    return Ok(plan);
                }
                let mode = FanMode::parse(mode)?;
                let (fan_in, fan_out) = fans(shape)?;
                let gain = calculate_gain(nonlinearity, Some(*a))?;
                let fan = if mode == FanMode::FanIn { fan_in } else { fan_out };
                let std = gain / (fan as f64).sqrt();
                let uniform = matches!(scheme.kind(), Kind::KaimingUniform { .. });
                plan.variance_scaled(fan_in, fan_out, gain, std, uniform)?
            }
            Kind::Orthogonal { gain } => {
                if shape.len() < 2 {
                    return Err(Error::InvalidShape("Only tensors with 2 or more dimensions are supported".into()));
                }
                plan.gain = Some(*gain);
                if elements == 0 {
                    return Ok(plan);
                }
                let rows = shape[0] as u64;
                Lowered::Orthogonal { rows, cols: elements / rows, gain: *gain }
            }
            Kind::Sparse { sparsity, std } => {
                if shape.len() != 2 {
                    return Err(Error::InvalidShape("Only tensors with 2 dimensions are supported".into()));
                }
                plan.std = Some(*std);
                let rows = shape[0] as u64;
                let zeros_per_column = (sparsity * rows as f64).ceil() as u64;
                Lowered::Sparse { rows, cols: shape[1] as u64, zeros_per_column, std: *std }
            }
        };
        if elements == 0 {
            plan.lowered = Lowered::Nothing;
        }
        Ok(plan)
    }

    /// Records the numbers of a Xavier or Kaiming scheme and lowers it to `uniform(-bound, bound)`
    /// with `bound = sqrt(3) std`, or to `normal(0, std)`.
    fn variance_scaled(&mut self, fan_in: u64, fan_out: u64, gain: f64, std: f64, uniform: bool) -> Result<Lowered> {
        (self.fan_in, self.fan_out, self.gain, self.std) = (Some(fan_in), Some(fan_out), Some(gain), Some(std));
        let op = if uniform {
            let bound = 3.0f64.sqrt() * std;
            self.bound = Some(bound);
            lowered::uniform(-bound, bound)?
        } else {
            lowered::normal(0.0, std)?
        };
        Ok(Lowered::Elementwise(op))
    }

    /// Number of elements of the tensor.
    pub fn elements(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }

    /// Whether filling does nothing: a zero-element tensor ("Initializing zero-element tensors
    /// is a no-op", as PyTorch warns).
    pub fn is_no_op(&self) -> bool {
        self.lowered == Lowered::Nothing
    }

    /// The resolved numbers as a JSON object with the keys that apply, among `fan_in`, `fan_out`,
    /// `gain`, `std` and `bound`.
    pub fn numbers_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        let fans = [("fan_in", self.fan_in), ("fan_out", self.fan_out)];
        for (key, value) in fans {
            if let Some(v) = value {
                map.insert(key.into(), v.into());
            }
        }
        for (key, value) in [("gain", self.gain), ("std", self.std), ("bound", self.bound)] {
            if let Some(v) = value {
                map.insert(key.into(), v.into());
            }
        }
        serde_json::Value::Object(map)
    }
}
