//! A model plan: every tensor of a spec resolved to a scheme, a concrete plan and its own stream,
//! or to a pretrained tensor to copy.

use std::sync::Arc;

use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::planner::Plan;
use crate::stream::Stream;
use crate::tensor_file::{TensorEntry, TensorFile};

use super::rules::resolve;
use super::spec::{ElementType, ModelSpec};

/// The stream number of the tensor named `name`: the 64-bit FNV-1a hash of its UTF-8 bytes
/// (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`). Part of the stream contract.
///
/// So a tensor's values depend only on the seed, its name, its shape and its scheme.
///
/// ```
/// assert_eq!(nninit::model::name_stream(""), 0xcbf29ce484222325);
/// assert_eq!(nninit::model::name_stream("a"), 0xaf63dc4c8601ec8c);
/// ```
pub fn name_stream(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3))
}

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
    /// Initialized by its scheme, from its stream.
    Init,
    /// Copied from a pretrained file (converted to the tensor's element type).
    Pretrained {
        /// The open file.
        file: Arc<TensorFile>,
        /// The tensor in it.
        entry: TensorEntry,
    },
}

/// One tensor of a [`ModelPlan`].
#[derive(Clone, Debug)]
pub struct PlannedTensor {
    /// Its name.
    pub name: String,
    /// Its element type.
    pub element: ElementType,
    /// Its scheme (from its spec or the first matching rule).
    pub init: Init,
    /// The scheme resolved against its shape.
    pub plan: Plan,
    /// Its stream: `(seed, name_stream(name))`.
    pub stream: Stream,
    /// Where its values come from.
    pub source: Source,
}

impl PlannedTensor {
    /// Its shape.
    pub fn shape(&self) -> &[usize] {
        &self.plan.shape
    }

    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.plan.elements()
    }

    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        self.elements() * self.element.size()
    }

    /// The dtype a backend fills this tensor in, or `None` when it is made on the host
    /// (pretrained values, i64 constants).
    pub fn backend_dtype(&self) -> Option<Dtype> {
        match (self.element, &self.source) {
            (ElementType::Float(dtype), Source::Init) => Some(dtype),
            _ => None,
        }
    }

    /// The value of an i64 tensor's constant scheme.
    pub(crate) fn integer_value(&self) -> Result<i64> {
        integer_value(&self.name, &self.init)
    }
}

/// The integer an i64 tensor's scheme fills it with: zeros, ones or an integral constant.
fn integer_value(name: &str, init: &Init) -> Result<i64> {
    match init {
        Init::Zeros => Ok(0),
        Init::Ones => Ok(1),
        Init::Constant { val } if val.fract() == 0.0 && val.abs() < 9.0e18 => Ok(*val as i64),
        other => Err(Error::InvalidParameter(format!(
            "{name}: an i64 tensor takes zeros, ones or an integral constant, not {}",
            serde_json::to_string(other).unwrap_or_default()
        ))),
    }
}

/// Every tensor of a model, ready to run on either backend.
///
/// ```
/// use nninit::model::{presets, ModelPlan};
/// let plan = ModelPlan::new(&presets::resnet50(), 0, nninit::Dtype::F32)?;
/// let conv1 = &plan.tensors[0];
/// assert_eq!(conv1.name, "conv1.weight");
/// assert!((conv1.plan.std.unwrap() - (2.0f64 / (64.0 * 49.0)).sqrt()).abs() < 1e-15);
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ModelPlan {
    /// The model's name.
    pub name: String,
    /// The seed.
    pub seed: u64,
    /// The floating-point dtype of the run.
    pub dtype: Dtype,
    /// The tensors, in the spec's order.
    pub tensors: Vec<PlannedTensor>,
}

impl ModelPlan {
    /// Resolves every tensor of `spec` with its rules (see [`super::resolve`]) for `seed` and
    /// floating-point dtype `dtype`. Errors name the tensor.
    pub fn new(spec: &ModelSpec, seed: u64, dtype: Dtype) -> Result<Self> {
        let mut tensors: Vec<PlannedTensor> = Vec::with_capacity(spec.tensors.len());
        let mut seen = std::collections::HashMap::with_capacity(spec.tensors.len());
        for tensor in &spec.tensors {
            let stream = name_stream(&tensor.name);
            if let Some(other) = seen.insert(stream, tensor.name.as_str()) {
                let why = if other == tensor.name {
                    "appears twice".to_string()
                } else {
                    format!("shares a stream with {other}")
                };
                return Err(Error::InvalidParameter(format!("tensor {} {why}", tensor.name)));
            }
            let init = resolve(tensor, &spec.rules)?;
            let element = tensor.dtype.resolve(dtype);
            if element == ElementType::I64 {
                integer_value(&tensor.name, &init)?;
            }
            let plan = Plan::new(&init, &tensor.shape).map_err(|e| named(&tensor.name, e))?;
            tensors.push(PlannedTensor {
                name: tensor.name.clone(),
                element,
                init,
                plan,
                stream: Stream::new(seed, stream),
                source: Source::Init,
            });
        }
        Ok(Self { name: spec.name.clone(), seed, dtype, tensors })
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&PlannedTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Total elements.
    pub fn elements(&self) -> u64 {
        self.tensors.iter().map(PlannedTensor::elements).sum()
    }

    /// Total bytes of tensor data.
    pub fn bytes(&self) -> u64 {
        self.tensors.iter().map(PlannedTensor::bytes).sum()
    }
}
