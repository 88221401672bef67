//! One named tensor of a model spec: its name, shape, layer kind and element type.

use crate::contract::dtype::Dtype;
use crate::scheme::Scheme;

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

/// How a model's tensor is stored once the run's dtype is known: a floating-point [`Dtype`] or
/// 64-bit signed integers. In JSON: `"f32"`, `"f16"`, `"bf16"` or `"i64"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    /// A floating-point dtype.
    Float(Dtype),
    /// 64-bit signed integers (e.g. `num_batches_tracked`); only constant schemes apply.
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

    /// Its name: `f32`, `f16`, `bf16` or `i64`.
    pub fn name(self) -> &'static str {
        match self {
            ElementType::Float(dtype) => dtype.name(),
            ElementType::I64 => "i64",
        }
    }
}

impl serde::Serialize for ElementType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for ElementType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.as_str() {
            "i64" => Ok(ElementType::I64),
            other => Dtype::parse(other).map(ElementType::Float).map_err(serde::de::Error::custom),
        }
    }
}

/// A spec's `dtype`: absent or `"float"` is the run's floating-point dtype (`None`).
fn run_dtype_or_fixed<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<ElementType>, D::Error> {
    use serde::Deserialize;
    let name = String::deserialize(deserializer)?;
    if name == "float" {
        return Ok(None);
    }
    ElementType::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&name)).map(Some)
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
    /// Its element type; `None` (JSON: absent or `"float"`) is the run's floating-point dtype.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "run_dtype_or_fixed")]
    pub dtype: Option<ElementType>,
    /// An explicit scheme, used instead of the rules (JSON: `init`).
    #[serde(default, rename = "init", skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// A row of the leading dim written as zeros after the scheme: `nn.Embedding`'s
    /// `padding_idx` (transformers: the config's `pad_token_id`). See [`crate::Fill::with_zero_row`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding_idx: Option<u64>,
}

impl TensorSpec {
    /// A tensor of `kind` named `name`.
    pub fn new(name: impl Into<String>, shape: &[usize], kind: LayerKind) -> Self {
        Self { name: name.into(), shape: shape.to_vec(), kind, dtype: None, scheme: None, padding_idx: None }
    }

    /// The last component of the name (`weight`, `bias`, `running_mean`, ...), which rules call
    /// the parameter.
    pub fn param(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }

    /// Number of elements, or `None` when the product overflows.
    pub fn elements(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64))
    }

    /// The element type in a run of floating-point dtype `dtype`.
    pub fn element_type(&self, dtype: Dtype) -> ElementType {
        self.dtype.unwrap_or(ElementType::Float(dtype))
    }
}
