//! A model spec: the named tensors of a model, in PyTorch `state_dict` naming, with their
//! layer kinds, and the rules that give them schemes.

use std::path::Path;

use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::init::Init;

use super::rules::Rule;

/// The kind of layer a tensor belongs to, which rules match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// A convolution (`nn.Conv1d/2d/3d`).
    Conv,
    /// A linear layer (`nn.Linear`), attention and MLP projections included.
    Linear,
    /// A batch norm (`nn.BatchNorm*d`): weight, bias and running statistics.
    Batchnorm,
    /// An embedding table (`nn.Embedding`).
    Embedding,
    /// Any other normalization (`nn.LayerNorm`, RMSNorm, `nn.GroupNorm`).
    Norm,
    /// Anything else; give it a rule by name or an explicit scheme.
    Other,
}

/// A tensor's element type in a spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecDtype {
    /// The run's floating-point dtype (`--dtype`).
    #[default]
    Float,
    /// Always f32.
    F32,
    /// Always f16.
    F16,
    /// Always bf16.
    Bf16,
    /// 64-bit signed integers (e.g. `num_batches_tracked`); only constant schemes apply.
    I64,
}

/// How a tensor is stored once the run's dtype is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementType {
    /// A floating-point dtype.
    Float(Dtype),
    /// 64-bit signed integers.
    I64,
}

impl ElementType {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            ElementType::Float(dtype) => dtype.size(),
            ElementType::I64 => 8,
        }
    }

    /// The safetensors dtype.
    pub fn safetensors(self) -> safetensors::Dtype {
        match self {
            ElementType::Float(dtype) => dtype.safetensors(),
            ElementType::I64 => safetensors::Dtype::I64,
        }
    }
}

impl SpecDtype {
    /// The element type for a run in `dtype`.
    pub fn resolve(self, dtype: Dtype) -> ElementType {
        match self {
            SpecDtype::Float => ElementType::Float(dtype),
            SpecDtype::F32 => ElementType::Float(Dtype::F32),
            SpecDtype::F16 => ElementType::Float(Dtype::F16),
            SpecDtype::Bf16 => ElementType::Float(Dtype::Bf16),
            SpecDtype::I64 => ElementType::I64,
        }
    }
}

/// One named tensor of a model.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// Its `state_dict` name, e.g. `layer1.0.conv1.weight`.
    pub name: String,
    /// Its shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// The layer kind rules match on.
    pub kind: LayerKind,
    /// Its element type (default: the run's dtype).
    #[serde(default, skip_serializing_if = "is_default")]
    pub dtype: SpecDtype,
    /// An explicit scheme, used instead of the rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<Init>,
}

fn is_default(dtype: &SpecDtype) -> bool {
    *dtype == SpecDtype::Float
}

impl TensorSpec {
    /// A tensor of `kind` named `name`.
    pub fn new(name: impl Into<String>, shape: &[usize], kind: LayerKind) -> Self {
        Self { name: name.into(), shape: shape.to_vec(), kind, dtype: SpecDtype::Float, init: None }
    }

    /// The last component of the name (`weight`, `bias`, `running_mean`, ...), which rules call
    /// the parameter.
    pub fn param(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }

    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }
}

/// A model: its tensors in `state_dict` order, and default rules.
///
/// In JSON: `{"name": "...", "tensors": [{"name", "shape", "kind", "dtype"?, "init"?}, ...],
/// "rules": [...]}` (see [`Rule`]).
///
/// ```
/// use nninit::model::ModelSpec;
/// let spec: ModelSpec = serde_json::from_str(r#"{
///     "name": "mlp",
///     "tensors": [
///         {"name": "fc1.weight", "shape": [256, 784], "kind": "linear"},
///         {"name": "fc1.bias", "shape": [256], "kind": "linear", "init": {"scheme": "zeros"}}
///     ],
///     "rules": [{"kind": "linear", "param": "weight", "init": {"scheme": "xavier_uniform"}}]
/// }"#).unwrap();
/// assert_eq!(spec.parameters(), 256 * 785);
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model's name.
    pub name: String,
    /// Its tensors, in `state_dict` order (the output file keeps it).
    pub tensors: Vec<TensorSpec>,
    /// Its rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl ModelSpec {
    /// Reads a spec from a JSON file.
    pub fn from_file(path: &Path) -> Result<Self> {
        read_json(path)
    }

    /// Total number of elements over all tensors.
    pub fn elements(&self) -> u64 {
        self.tensors.iter().map(TensorSpec::elements).sum()
    }

    /// Elements of the floating-point tensors other than batch-norm running statistics: the
    /// count PyTorch's `sum(p.numel() for p in model.parameters())` gives.
    pub fn parameters(&self) -> u64 {
        let buffer = |t: &&TensorSpec| {
            t.kind == LayerKind::Batchnorm
                && matches!(t.param(), "running_mean" | "running_var" | "num_batches_tracked")
        };
        self.tensors.iter().filter(|t| !buffer(t)).map(TensorSpec::elements).sum()
    }

    /// The spec restricted to the tensors whose names match any of `patterns` (globs, see
    /// [`super::rules::glob_match`]).
    pub fn subset(&self, patterns: &[String]) -> Self {
        let keep = |t: &TensorSpec| patterns.iter().any(|p| super::rules::glob_match(p, &t.name));
        Self { tensors: self.tensors.iter().filter(|t| keep(t)).cloned().collect(), ..self.clone() }
    }
}

/// Reads a JSON file into `T`, with the file's name in errors.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::InvalidParameter(format!("{}: {e}", path.display())))
}
