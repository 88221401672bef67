//! Rules: which scheme each tensor of a model gets, by layer kind and name, first match wins.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::read_json;
use crate::scheme::Scheme;

use super::tensor::{LayerKind, TensorSpec};

/// One rule: a scheme for the tensors it matches. Every condition given must hold; a rule
/// with none matches everything.
///
/// In JSON: `{"kind": "conv", "param": "weight", "init": {"scheme": "kaiming_normal", "mode":
/// "fan_out", "nonlinearity": "relu"}}` or `{"name": "*.o_proj.weight", "init": {...}}`.
///
/// ```
/// use nninit::model::{LayerKind, Rule, TensorSpec};
/// use nninit::Scheme;
/// let rule = Rule::for_param(LayerKind::Batchnorm, "weight", Scheme::ones());
/// assert!(rule.matches(&TensorSpec::new("layer1.0.bn1.weight", &[64], LayerKind::Batchnorm)));
/// assert!(!rule.matches(&TensorSpec::new("layer1.0.bn1.bias", &[64], LayerKind::Batchnorm)));
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The layer kind the tensor must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<LayerKind>,
    /// The last component of the tensor's name (`weight`, `bias`, `running_var`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// A glob the whole name must match: `*` matches any run of characters, `?` any one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The scheme (JSON: `init`).
    #[serde(rename = "init")]
    pub scheme: Scheme,
}

impl Rule {
    /// A rule for parameter `param` of layers of `kind`.
    pub fn for_param(kind: LayerKind, param: &str, scheme: Scheme) -> Self {
        Self { kind: Some(kind), param: Some(param.into()), name: None, scheme }
    }

    /// A rule for parameter `param` of any layer.
    pub fn for_any(param: &str, scheme: Scheme) -> Self {
        Self { kind: None, param: Some(param.into()), name: None, scheme }
    }

    /// A rule for the tensors whose name matches the glob `pattern`.
    pub fn for_name(pattern: &str, scheme: Scheme) -> Self {
        Self { kind: None, param: None, name: Some(pattern.into()), scheme }
    }

    /// Whether this rule applies to `tensor`.
    pub fn matches(&self, tensor: &TensorSpec) -> bool {
        self.kind.is_none_or(|k| k == tensor.kind)
            && self.param.as_deref().is_none_or(|p| p == tensor.param())
            && self.name.as_deref().is_none_or(|n| glob_match(n, &tensor.name))
    }
}

/// The scheme of `tensor`: its explicit one, else the first rule that matches it; a tensor no
/// rule covers is an error that names it.
pub fn resolve(tensor: &TensorSpec, rules: &[Rule]) -> Result<Scheme> {
    if let Some(scheme) = &tensor.scheme {
        return Ok(scheme.clone());
    }
    rules.iter().find(|r| r.matches(tensor)).map(|r| r.scheme.clone()).ok_or_else(|| {
        Error::InvalidParameter(format!(
            "no rule covers tensor {} (kind {:?}, shape {:?}): add a rule or give it an explicit \"init\"",
            tensor.name, tensor.kind, tensor.shape
        ))
    })
}

/// Reads rules from a JSON file: either `{"rules": [...]}` or a bare array.
pub fn rules_from_file(path: &Path) -> Result<Vec<Rule>> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum RulesFile {
        Wrapped { rules: Vec<Rule> },
        Bare(Vec<Rule>),
    }
    Ok(match read_json::<RulesFile>(path)? {
        RulesFile::Wrapped { rules } | RulesFile::Bare(rules) => rules,
    })
}

/// Whether `text` matches the glob `pattern` (`*`: any run of characters, `?`: any one).
///
/// ```
/// use nninit::model::glob_match;
/// assert!(glob_match("layer*.conv?.weight", "layer3.5.conv2.weight"));
/// assert!(!glob_match("*.bias", "fc.weight"));
/// ```
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and the text position it currently stands for the run up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_p, star_t)) = star {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
