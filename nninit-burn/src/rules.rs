//! Which scheme each parameter gets: PyTorch's module defaults, transformers' `_init_weights`,
//! or nninit's rules (by name glob, layer kind, parameter), first match wins.

use nninit::model::{glob_match, LayerKind, Rule, TensorSpec};
use nninit::{fans, Scheme};

use crate::error::{Error, Result};
use crate::names::Slot;

/// How a whole module is initialized: a set of defaults by module type, with rules before them
/// and the rows written as zeros (`padding_idx`, which burn's `Embedding` does not record).
///
/// ```
/// use nninit::{model::Rule, Scheme};
/// use nninit_burn::Rules;
/// let rules = Rules::pytorch()
///     .rule(Rule::for_name("head.weight", Scheme::orthogonal(1.0)?))
///     .padding_idx("embed.weight", 0);
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Rules {
    defaults: Defaults,
    rules: Vec<Rule>,
    padding: Vec<(String, u64)>,
}

#[derive(Clone, Debug)]
enum Defaults {
    /// PyTorch's `reset_parameters` of each module type.
    PyTorch,
    /// transformers' `_init_weights` with this `initializer_range`.
    Transformers(f64),
    /// None: every parameter must be covered by a rule.
    None,
}

impl Rules {
    /// PyTorch's module defaults (`reset_parameters`), by burn module type:
    ///
    /// | module | weight | bias |
    /// |---|---|---|
    /// | `Linear`, `Conv1d/2d/3d`, `ConvTranspose1d/2d/3d` | `kaiming_uniform(a=sqrt(5))` | `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` |
    /// | `Embedding` | `normal(0, 1)` | |
    /// | `BatchNorm`, `LayerNorm`, `GroupNorm`, `RmsNorm`, `InstanceNorm` | ones | zeros |
    /// | `MultiHeadAttention` | `in_proj_weight`: `xavier_uniform`; `out_proj.weight`: as `Linear` | zeros |
    ///
    /// A batch norm's running mean is zeros and its running variance ones.
    pub fn pytorch() -> Self {
        Self { defaults: Defaults::PyTorch, rules: Vec::new(), padding: Vec::new() }
    }

    /// transformers' `_init_weights`: every `Linear`, convolution and `Embedding` weight
    /// `normal(0, initializer_range)`, their biases zeros, norms ones and zeros (as
    /// `nninit init --config`). An error if `initializer_range` is not finite and positive.
    pub fn transformers(initializer_range: f64) -> Result<Self> {
        Scheme::normal(0.0, initializer_range)?;
        if !(initializer_range > 0.0 && initializer_range.is_finite()) {
            return Err(Error::Nninit(nninit::Error::InvalidParameter(format!(
                "initializer_range must be finite and positive, got {initializer_range}"
            ))));
        }
        Ok(Self { defaults: Defaults::Transformers(initializer_range), rules: Vec::new(), padding: Vec::new() })
    }

    /// No defaults: only `rules`, e.g. a spec file's (`nninit::model::rules_from_file`).
    pub fn from_rules(rules: Vec<Rule>) -> Self {
        Self { defaults: Defaults::None, rules, padding: Vec::new() }
    }

    /// Adds a rule, tried after the rules added before it and before the defaults. It matches
    /// PyTorch's name and shape of the tensor and its layer kind (`Linear` is `linear`,
    /// convolutions `conv`, `BatchNorm` `batchnorm`, other norms `norm`, `Embedding`
    /// `embedding`, anything else `other`).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Writes row `row` of the tensors whose PyTorch name matches the glob `name` as zeros
    /// after their scheme: `nn.Embedding`'s `padding_idx`.
    pub fn padding_idx(mut self, name: &str, row: u64) -> Self {
        self.padding.push((name.into(), row));
        self
    }

    /// The spec of the tensor `slot` is (part of): its PyTorch name and shape, its kind, its
    /// scheme and its padding row. `slots` are all of the module's, for a bias's weight.
    pub(crate) fn spec(&self, slot: &Slot, slots: &[Slot]) -> Result<TensorSpec> {
        let mut spec = TensorSpec::new(slot.tensor.clone(), &slot.tensor_shape, kind(&slot.module));
        spec.padding_idx = self.padding.iter().find(|(glob, _)| glob_match(glob, &slot.tensor)).map(|p| p.1);
        let ruled = self.rules.iter().find(|r| r.matches(&spec)).map(|r| r.scheme.clone());
        spec.scheme = Some(match ruled {
            Some(scheme) => scheme,
            None => self.default(slot, &spec, slots)?,
        });
        Ok(spec)
    }

    fn default(&self, slot: &Slot, spec: &TensorSpec, slots: &[Slot]) -> Result<Scheme> {
        let param = spec.param();
        let scheme = match (&self.defaults, spec.kind, param) {
            (Defaults::None, ..) => None,
            (_, LayerKind::Norm | LayerKind::Batchnorm, "weight" | "running_var") => Some(Scheme::ones()),
            (_, LayerKind::Norm | LayerKind::Batchnorm, "bias" | "running_mean") => Some(Scheme::zeros()),
            (_, _, "in_proj_bias") => Some(Scheme::zeros()),
            // transformers' `_init_weights` leaves nn.MultiheadAttention's packed weight as PyTorch made it.
            (_, _, "in_proj_weight") => Some(Scheme::xavier_uniform(1.0)?),
            (Defaults::Transformers(std), LayerKind::Linear | LayerKind::Conv | LayerKind::Embedding, "weight") => {
                Some(Scheme::normal(0.0, *std)?)
            }
            (Defaults::Transformers(_), LayerKind::Linear | LayerKind::Conv, "bias") => Some(Scheme::zeros()),
            (Defaults::PyTorch, LayerKind::Linear | LayerKind::Conv, "weight") => {
                Some(Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu")?)
            }
            (Defaults::PyTorch, LayerKind::Linear | LayerKind::Conv, "bias") if spec.name.contains("out_proj.") => {
                Some(Scheme::zeros())
            }
            (Defaults::PyTorch, LayerKind::Linear | LayerKind::Conv, "bias") => Some(bias_of(slot, slots)?),
            (Defaults::PyTorch, LayerKind::Embedding, "weight") => Some(Scheme::normal(0.0, 1.0)?),
            _ => None,
        };
        scheme.ok_or_else(|| {
            Error::Nninit(nninit::Error::InvalidParameter(format!(
                "no rule covers tensor {} (burn: {}{}, shape {:?}): add a rule for it",
                spec.name,
                slot.path,
                if slot.module.is_empty() { String::new() } else { format!(" in {}", slot.module) },
                spec.shape
            )))
        })
    }
}

/// PyTorch's bias default for a linear or convolution: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`
/// with the fan-in of its module's weight (zero fan-in: zeros' bound, 0).
fn bias_of(bias: &Slot, slots: &[Slot]) -> Result<Scheme> {
    let prefix = bias.path.strip_suffix("bias").unwrap_or(&bias.path);
    let weight = slots.iter().find(|s| s.path == format!("{prefix}weight")).ok_or_else(|| {
        Error::Unsupported(format!("{}: a bias without a weight beside it, so no fan-in for its bound", bias.path))
    })?;
    let (fan_in, _) = fans(&weight.tensor_shape)?;
    let bound = if fan_in > 0 { 1.0 / (fan_in as f64).sqrt() } else { 0.0 };
    Ok(Scheme::uniform(-bound, bound)?)
}

/// The layer kind of a burn module type.
fn kind(module: &str) -> LayerKind {
    match module {
        "Linear" | "MultiHeadAttention" => LayerKind::Linear,
        m if m.starts_with("Conv") => LayerKind::Conv,
        "BatchNorm" => LayerKind::Batchnorm,
        "LayerNorm" | "GroupNorm" | "RmsNorm" | "InstanceNorm" => LayerKind::Norm,
        "Embedding" => LayerKind::Embedding,
        _ => LayerKind::Other,
    }
}
