//! A model: every tensor of a spec resolved to a scheme, a concrete plan and its own stream, or to
//! a pretrained tensor to copy.

use std::sync::Arc;

use crate::contract::dtype::Dtype;
use crate::contract::stream::{name_stream, Stream};
use crate::error::{Error, Result};
use crate::io::{TensorEntry, TensorFile};
use crate::scheme::{Fill, Kind, Plan, Scheme};

use super::rules::resolve;
use super::spec::ModelSpec;
use super::tensor::ElementType;

/// Puts the tensor's name in front of a parameter, shape or target error that lacks it.
pub(super) fn named(name: &str, e: Error) -> Error {
    match e {
        Error::InvalidParameter(m) if !m.contains(name) => Error::InvalidParameter(format!("{name}: {m}")),
        Error::InvalidShape(m) if !m.contains(name) => Error::InvalidShape(format!("{name}: {m}")),
        Error::InvalidTarget(m) if !m.contains(name) => Error::InvalidTarget(format!("{name}: {m}")),
        e => e,
    }
}

/// Where a tensor's values come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Drawn by its scheme from its stream.
    Stream,
    /// Copied from a pretrained file (converted to the tensor's element type).
    Pretrained {
        /// The open file.
        file: Arc<TensorFile>,
        /// The tensor in it.
        entry: TensorEntry,
    },
}

/// One tensor of a [`Model`].
#[derive(Clone, Debug)]
pub struct ModelTensor {
    /// Its name.
    pub name: String,
    /// Its element type.
    pub element: ElementType,
    /// Its scheme (from its spec or the first matching rule).
    pub scheme: Scheme,
    /// The scheme resolved against its shape.
    pub plan: Plan,
    /// Its stream: `(seed, name_stream(name))`.
    pub stream: Stream,
    /// Where its values come from.
    pub source: Source,
    /// The row written as zeros after its scheme (its spec's `padding_idx`); pretrained values
    /// are kept as they are.
    pub zero_row: Option<u64>,
}

impl ModelTensor {
    /// Its shape.
    pub fn shape(&self) -> &[usize] {
        self.plan.shape()
    }

    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.plan.elements()
    }

    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        self.elements() * self.element.size()
    }

    /// Its scheme on its stream, with its zero row: what a backend fills (for tensors whose
    /// values are not pretrained).
    pub fn drawn_fill(&self) -> Result<Fill> {
        let fill = Fill::from_plan(&self.plan, self.stream)?;
        match self.zero_row {
            Some(row) => fill.with_zero_row(row),
            None => Ok(fill),
        }
        .map_err(|e| named(&self.name, e))
    }

    /// The dtype a backend fills this tensor in, or `None` when it is made on the host
    /// (pretrained values, i64 constants).
    pub fn backend_dtype(&self) -> Option<Dtype> {
        match (self.element, &self.source) {
            (ElementType::Float(dtype), Source::Stream) => Some(dtype),
            _ => None,
        }
    }

    /// The value of an i64 tensor's constant scheme.
    pub(crate) fn integer_value(&self) -> Result<i64> {
        integer_value(&self.name, &self.scheme)
    }
}

/// The integer an i64 tensor's scheme fills it with: zeros, ones or an integral constant.
fn integer_value(name: &str, scheme: &Scheme) -> Result<i64> {
    match scheme.kind() {
        Kind::Zeros => Ok(0),
        Kind::Ones => Ok(1),
        Kind::Constant { val } if val.fract() == 0.0 && val.abs() < 9.0e18 => Ok(*val as i64),
        _ => Err(Error::InvalidParameter(format!(
            "{name}: an i64 tensor takes zeros, ones or an integral constant, not {scheme}"
        ))),
    }
}

/// A model spec resolved for a seed and a floating-point dtype: every tensor with its scheme, plan
/// and stream, ready to run on either backend.
///
/// ```
/// use nninit::model::{presets, Model};
/// let model = Model::new(&presets::resnet50(), 0, nninit::Dtype::F32)?;
/// let conv1 = &model.tensors[0];
/// assert_eq!(conv1.name, "conv1.weight");
/// assert!((conv1.plan.std().unwrap() - (2.0f64 / (64.0 * 49.0)).sqrt()).abs() < 1e-15);
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Model {
    /// The model's name.
    pub name: String,
    /// The seed.
    pub seed: u64,
    /// The floating-point dtype of the run.
    pub dtype: Dtype,
    /// The tensors, in the spec's order.
    pub tensors: Vec<ModelTensor>,
}

impl Model {
    /// Resolves every tensor of `spec` with its rules (see [`super::resolve`]) for `seed` and
    /// floating-point dtype `dtype`. Errors name the tensor.
    pub fn new(spec: &ModelSpec, seed: u64, dtype: Dtype) -> Result<Self> {
        let mut tensors: Vec<ModelTensor> = Vec::new();
        tensors
            .try_reserve_exact(spec.tensors.len())
            .map_err(|e| Error::LimitExceeded(format!("a model of {} tensors: {e}", spec.tensors.len())))?;
        let mut seen = std::collections::HashMap::with_capacity(spec.tensors.len());
        if spec.tensors.is_empty() {
            return Err(Error::InvalidParameter(format!("model {}: the spec has no tensors", spec.name)));
        }
        for tensor in &spec.tensors {
            crate::io::check_tensor_name(&tensor.name)?;
            let stream = name_stream(&tensor.name);
            if let Some(other) = seen.insert(stream, tensor.name.as_str()) {
                let why = if other == tensor.name {
                    "appears twice".to_string()
                } else {
                    format!("shares a stream with {other}")
                };
                return Err(Error::InvalidParameter(format!("tensor {} {why}", tensor.name)));
            }
            let scheme = resolve(tensor, &spec.rules)?;
            let element = tensor.element_type(dtype);
            if element == ElementType::I64 {
                integer_value(&tensor.name, &scheme)?;
            }
            let plan = Plan::new(&scheme, &tensor.shape).map_err(|e| named(&tensor.name, e))?;
            if let Some(row) = tensor.padding_idx {
                crate::scheme::row_elements(&tensor.shape, row).map_err(|e| named(&tensor.name, e))?;
            }
            tensors.push(ModelTensor {
                name: tensor.name.clone(),
                element,
                scheme,
                plan,
                stream: Stream::new(seed, stream),
                source: Source::Stream,
                zero_row: tensor.padding_idx,
            });
        }
        // Every count formed later (elements, bytes, offsets) fits in a u64 from here on.
        let mut total = 0u64;
        for t in &tensors {
            total = t
                .elements()
                .checked_mul(t.element.size())
                .and_then(|bytes| total.checked_add(bytes))
                .filter(|&total| total <= isize::MAX as u64)
                .ok_or_else(|| {
                    Error::InvalidShape(format!(
                        "model {}: its tensors' data would exceed 2^63 bytes (at {})",
                        spec.name, t.name
                    ))
                })?;
        }
        Ok(Self { name: spec.name.clone(), seed, dtype, tensors })
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&ModelTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Total elements (it fits: [`Model::new`] checks the total bytes).
    pub fn elements(&self) -> u64 {
        self.tensors.iter().map(ModelTensor::elements).sum()
    }

    /// Total bytes of tensor data.
    pub fn bytes(&self) -> u64 {
        self.tensors.iter().map(ModelTensor::bytes).sum()
    }
}
