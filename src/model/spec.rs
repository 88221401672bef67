//! A model spec: the named tensors of a model, in PyTorch `state_dict` naming, with their layer
//! kinds, and the rules that give them schemes.

use super::rules::{glob_match, Rule};
use super::tensor::{LayerKind, TensorSpec};

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
/// assert_eq!(spec.parameters(), Some(256 * 785));
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
    /// Total number of elements over all tensors (`None` when the sum overflows).
    pub fn elements(&self) -> Option<u64> {
        self.tensors.iter().try_fold(0u64, |n, t| n.checked_add(t.elements()?))
    }

    /// Elements of the floating-point tensors other than batch-norm running statistics: the
    /// count PyTorch's `sum(p.numel() for p in model.parameters())` gives.
    /// `None` when the sum overflows.
    pub fn parameters(&self) -> Option<u64> {
        let buffer = |t: &&TensorSpec| {
            t.kind == LayerKind::Batchnorm
                && matches!(t.param(), "running_mean" | "running_var" | "num_batches_tracked")
        };
        self.tensors.iter().filter(|t| !buffer(t)).try_fold(0u64, |n, t| n.checked_add(t.elements()?))
    }

    /// The spec restricted to the tensors whose names match any of `patterns` (globs, see
    /// [`super::glob_match`]).
    pub fn subset(&self, patterns: &[String]) -> Self {
        let keep = |t: &TensorSpec| patterns.iter().any(|p| glob_match(p, &t.name));
        Self { tensors: self.tensors.iter().filter(|t| keep(t)).cloned().collect(), ..self.clone() }
    }
}
