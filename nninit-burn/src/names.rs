//! From burn's module tree to PyTorch's `state_dict`: every float parameter of a module with
//! the name, shape and layout PyTorch gives the same tensor.

use std::ops::Range;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

use crate::error::{Error, Result};

/// The module types whose `gamma` and `beta` PyTorch calls `weight` and `bias` (burn-store's
/// PyTorch adapter renames the same four, and `InstanceNorm`'s too here).
const NORMS: &[&str] = &["BatchNorm", "LayerNorm", "GroupNorm", "RmsNorm", "InstanceNorm"];

/// One float parameter (or running statistic) of a burn module, seen as PyTorch sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    /// burn's path to it (`attn.query.weight`, `bn1.gamma`).
    pub path: String,
    /// The burn module type that holds it (`Linear`, `BatchNorm`, ...), or `""` for a parameter
    /// of a container or a user's module.
    pub module: String,
    /// The PyTorch `state_dict` name of the tensor it is (or is part of): `bn1.weight`;
    /// `attn.in_proj_weight` for a [`burn::nn::attention::MultiHeadAttention`]'s query, key
    /// and value. Its stream is FNV-1a of this name, as `nninit init` names it.
    pub tensor: String,
    /// That tensor's shape in PyTorch.
    pub tensor_shape: Vec<usize>,
    /// The part of it this parameter holds (elements in row-major order); `None` is all.
    pub part: Option<Range<u64>>,
    /// The parameter's own shape in PyTorch's layout.
    pub shape: Vec<usize>,
    /// How burn holds it against PyTorch's layout.
    pub layout: Layout,
}

/// How a burn parameter's value relates to PyTorch's tensor `T` (in PyTorch's shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The value is `T`.
    Same,
    /// The value is `T` transposed, as burn's `Linear` holds its weight (`[in, out]`): the
    /// parameter is given `T.transpose()`, a view (its load mapper does nothing).
    Transposed,
    /// The value is `T` transposed by the parameter's own load mapper (`LinearLayout::Col`):
    /// the parameter is given `T`.
    TransposedOnLoad,
}

/// The PyTorch names of every float parameter of `module`, in burn's visiting order.
pub fn slots<M: Module>(module: &M) -> Result<Vec<Slot>> {
    let mut walk = Walk { stack: Vec::new(), slots: Vec::new(), error: None };
    module.visit(&mut walk);
    if let Some(error) = walk.error {
        return Err(error);
    }
    biases_agree(&walk.slots)?;
    Ok(walk.slots)
}

/// One level of the walk: a field (or index) and the type of the value that holds it.
struct Level {
    name: String,
    container: String,
}

struct Walk {
    stack: Vec<Level>,
    slots: Vec<Slot>,
    error: Option<Error>,
}

impl Walk {
    /// The path PyTorch names: enum variants add no level (as burn-store's collector).
    fn path(&self) -> Vec<&str> {
        self.stack.iter().filter(|l| !l.container.starts_with("Enum:")).map(|l| l.name.as_str()).collect()
    }

    fn slot<const D: usize>(&mut self, param: &Param<Tensor<D>>) -> Result<Slot> {
        let path = self.path();
        let module =
            self.stack.last().and_then(|l| l.container.strip_prefix("Struct:")).unwrap_or_default().to_string();
        let field = path.last().copied().unwrap_or_default();
        let parent = &path[..path.len().saturating_sub(1)];
        let shape = param.lazy_shape().to_vec();
        let pytorch_field = match field {
            "gamma" if NORMS.contains(&module.as_str()) => "weight",
            "beta" if NORMS.contains(&module.as_str()) => "bias",
            other => other,
        };
        let tensor = parent.iter().copied().chain([pytorch_field]).collect::<Vec<_>>().join(".");
        let (shape, layout) = if module == "Linear" && field == "weight" && D == 2 {
            linear_weight(param, &shape)
        } else {
            (shape, Layout::Same)
        };
        let mut slot =
            Slot { path: path.join("."), module, tensor, tensor_shape: shape.clone(), part: None, shape, layout };
        let holder = self.stack.len().checked_sub(2).map(|i| &self.stack[i]);
        if let Some(linear) = holder.filter(|l| l.container == "Struct:MultiHeadAttention" && slot.module == "Linear") {
            attention(&mut slot, &linear.name, &parent[..parent.len().saturating_sub(1)], pytorch_field)?;
        }
        Ok(slot)
    }
}

impl ModuleVisitor for Walk {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.stack.push(Level { name: name.into(), container: container_type.into() });
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.error.is_some() {
            return;
        }
        match self.slot(param) {
            Ok(slot) => self.slots.push(slot),
            Err(e) => self.error = Some(e),
        }
    }
}

/// A `Linear` weight's PyTorch shape (`[out, in]`) and how burn holds it. burn's value is
/// `[in, out]` in both layouts; with `LinearLayout::Col` the parameter's load mapper transposes
/// what it is given, which a one-element probe shows without initializing the parameter. A
/// lazy `Col` parameter reports the shape it will be made in, `[out, in]`.
fn linear_weight<const D: usize>(param: &Param<Tensor<D>>, shape: &[usize]) -> (Vec<usize>, Layout) {
    let device: Device = param.lazy_device().inner();
    let mut probe_shape = [1usize; D];
    probe_shape[D - 1] = 2;
    let probe = Tensor::<D>::zeros(probe_shape, &device);
    let loaded = param.clone().transform_for_load(probe, param.id);
    let transposes = loaded.val().dims()[0] == 2;
    let reversed = vec![shape[1], shape[0]];
    if transposes {
        (if param.is_initialized() { reversed } else { shape.to_vec() }, Layout::TransposedOnLoad)
    } else {
        (reversed, Layout::Transposed)
    }
}

/// A `MultiHeadAttention`'s `query`, `key` and `value` are the three row blocks of PyTorch's
/// packed `in_proj_weight` (`[3 d_model, d_model]`) and `in_proj_bias`; its `output` is
/// `out_proj`. `prefix` is the attention module's path.
fn attention(slot: &mut Slot, linear: &str, prefix: &[&str], param: &str) -> Result<()> {
    let name = |last: &str| prefix.iter().copied().chain([last]).collect::<Vec<_>>().join(".");
    let block = match linear {
        "query" => 0u64,
        "key" => 1,
        "value" => 2,
        "output" => {
            slot.tensor = name(&format!("out_proj.{param}"));
            return Ok(());
        }
        _ => return Ok(()),
    };
    let d_model = slot.shape[0];
    let (packed, whole) = match param {
        "weight" if slot.shape == [d_model, d_model] => ("in_proj_weight", vec![3 * d_model, d_model]),
        "bias" => ("in_proj_bias", vec![3 * d_model]),
        _ => {
            return Err(Error::Unsupported(format!(
                "{}: an attention projection of shape {:?} is not a block of PyTorch's packed in_proj_weight ([d_model, d_model])",
                slot.path, slot.shape
            )))
        }
    };
    let per: u64 = slot.shape.iter().map(|&d| d as u64).product();
    slot.tensor = name(packed);
    slot.tensor_shape = whole;
    slot.part = Some(block * per..(block + 1) * per);
    Ok(())
}

/// A `Linear`'s bias must have `out` elements: the check that the layout was read right.
fn biases_agree(slots: &[Slot]) -> Result<()> {
    for weight in slots.iter().filter(|s| s.module == "Linear" && s.layout != Layout::Same) {
        let Some(prefix) = weight.path.strip_suffix(".weight") else { continue };
        let bias_path = format!("{prefix}.bias");
        if let Some(bias) = slots.iter().find(|s| s.path == bias_path) {
            if bias.shape != [weight.shape[0]] {
                return Err(Error::Unsupported(format!(
                    "{}: its bias has shape {:?}, but the weight reads as PyTorch's {:?} ([out, in]): an unknown Linear layout",
                    weight.path, bias.shape, weight.shape
                )));
            }
        }
    }
    Ok(())
}
