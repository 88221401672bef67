//! A spec shaped exactly like an existing checkpoint, from its header alone: how inference
//! engines are tested without downloading real weights.

use std::collections::HashMap;
use std::path::Path;

use crate::contract::dtype::Dtype;
use crate::error::{Error, Result};
use crate::io::{Checkpoint, TensorEntry};
use crate::scheme::{fans, Scheme};

use super::presets::linear_default_rules;
use super::rules::Rule;
use super::spec::ModelSpec;
use super::tensor::{ElementType, LayerKind, TensorSpec};

/// A spec with every tensor of the checkpoint at `path` (a `.safetensors` file, a
/// `model.safetensors.index.json`, or a directory holding either), its names, shapes and dtypes
/// kept; only headers are read. Kinds are inferred from names and shapes, and the rules are
/// PyTorch's module defaults for each kind:
///
/// - with a `running_mean` beside it, or a running statistic itself: batch norm (weight ones,
///   bias zeros, running mean 0, running var 1, `num_batches_tracked` 0);
/// - a weight of 3 to 5 dims: a convolution (`nn.Conv*d`), `kaiming_uniform(a=sqrt(5))`;
/// - a name with `norm`, or a part starting with `ln` or `bn`, or any 1-D weight: a norm (ones,
///   bias zeros);
/// - a 2-D weight whose name has `embed`, `wte` or `wpe`: an embedding (`nn.Embedding`),
///   `normal(0, 1)`;
/// - any other 2-D weight: linear (`nn.Linear`), `kaiming_uniform(a=sqrt(5))`;
/// - a conv's or linear's bias: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with its weight's fan-in
///   (given on the tensor, so it survives replaced rules);
/// - anything else, integer tensors among them: zeros.
///
/// Integer tensors other than i64 and floats other than f32, f16 and bf16 are refused, naming
/// the tensor; so is an index that does not agree with its shards ([`Checkpoint::open`]).
pub fn spec_like(path: &Path) -> Result<ModelSpec> {
    let checkpoint = Checkpoint::open(path)?;
    let entries: Vec<&TensorEntry> = checkpoint.files().iter().flat_map(|f| f.entries()).collect();
    if entries.is_empty() {
        return Err(Error::InvalidParameter(format!("{}: the checkpoint has no tensors", path.display())));
    }
    let shapes: HashMap<&str, &[usize]> = entries.iter().map(|e| (e.name.as_str(), e.shape.as_slice())).collect();
    let mut tensors = Vec::with_capacity(entries.len());
    for entry in entries {
        tensors.push(tensor_like(entry, &shapes)?);
    }
    // The checkpoint's name: its directory's for an index or a directory, else the file's stem.
    let named = if path.is_dir() || path.extension().is_some_and(|e| e == "json") {
        std::fs::canonicalize(path).ok().and_then(|p| {
            let dir = if p.is_dir() { p } else { p.parent()?.to_path_buf() };
            dir.file_name().map(|n| n.to_string_lossy().into_owned())
        })
    } else {
        path.file_stem().map(|s| s.to_string_lossy().into_owned())
    };
    let name = named.unwrap_or_else(|| "like".into());
    Ok(ModelSpec { name, tensors, rules: module_default_rules() })
}

/// The rules of PyTorch's module defaults, by kind.
fn module_default_rules() -> Vec<Rule> {
    let mut rules = linear_default_rules();
    rules.push(Rule::for_param(
        LayerKind::Conv,
        "weight",
        Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu").expect("constant parameters are valid"),
    ));
    rules.push(Rule::for_param(LayerKind::Embedding, "weight", Scheme::normal(0.0, 1.0).expect("valid")));
    for kind in [LayerKind::Norm, LayerKind::Batchnorm] {
        rules.push(Rule::for_param(kind, "weight", Scheme::ones()));
        rules.push(Rule::for_param(kind, "bias", Scheme::zeros()));
    }
    rules.push(Rule::for_param(LayerKind::Batchnorm, "running_mean", Scheme::zeros()));
    rules.push(Rule::for_param(LayerKind::Batchnorm, "running_var", Scheme::ones()));
    rules.push(Rule::for_param(LayerKind::Batchnorm, "num_batches_tracked", Scheme::zeros()));
    rules.push(Rule::for_name("*", Scheme::zeros()));
    rules
}

/// One tensor of the checkpoint, its kind inferred.
fn tensor_like(entry: &TensorEntry, shapes: &HashMap<&str, &[usize]>) -> Result<TensorSpec> {
    let element = match entry.dtype {
        safetensors::Dtype::F32 => ElementType::Float(Dtype::F32),
        safetensors::Dtype::F16 => ElementType::Float(Dtype::F16),
        safetensors::Dtype::BF16 => ElementType::Float(Dtype::Bf16),
        safetensors::Dtype::I64 => ElementType::I64,
        other => {
            return Err(Error::InvalidParameter(format!(
                "{}: dtype {other:?} cannot be written by nninit (f32, f16, bf16, i64)",
                entry.name
            )))
        }
    };
    let (prefix, param) = entry.name.rsplit_once('.').unwrap_or(("", entry.name.as_str()));
    let sibling = |p: &str| if prefix.is_empty() { p.to_string() } else { format!("{prefix}.{p}") };
    let kind = kind_of(&entry.name, prefix, param, &entry.shape, |p| shapes.get(sibling(p).as_str()).copied());
    let mut spec = TensorSpec::new(entry.name.clone(), &entry.shape, kind);
    spec.dtype = Some(element);
    if element == ElementType::I64 {
        spec.scheme = Some(Scheme::zeros());
    } else if param == "bias" && matches!(kind, LayerKind::Linear | LayerKind::Conv) {
        let weight = shapes.get(sibling("weight").as_str()).filter(|s| s.len() >= 2);
        spec.scheme = Some(match weight {
            Some(shape) => {
                let (fan_in, _) = fans(shape)?;
                let bound = if fan_in > 0 { 1.0 / (fan_in as f64).sqrt() } else { 0.0 };
                Scheme::uniform(-bound, bound)?
            }
            None => Scheme::zeros(),
        });
    }
    Ok(spec)
}

/// A tensor's layer kind from its name, its parameter's name, its shape and its siblings'
/// shapes (`sibling("weight")`): a bias takes its weight's kind.
fn kind_of<'s>(
    name: &str,
    prefix: &str,
    param: &str,
    shape: &[usize],
    sibling: impl Fn(&str) -> Option<&'s [usize]>,
) -> LayerKind {
    let lower = name.to_ascii_lowercase();
    if matches!(param, "running_mean" | "running_var" | "num_batches_tracked") || sibling("running_mean").is_some() {
        return LayerKind::Batchnorm;
    }
    let weight_shape = match param {
        "weight" => shape,
        "bias" => match sibling("weight") {
            Some(weight) => weight,
            None => return LayerKind::Other,
        },
        _ => return LayerKind::Other,
    };
    let normish = lower.contains("norm")
        || prefix.split('.').any(|p| {
            let p = p.to_ascii_lowercase();
            p.starts_with("ln") || p.starts_with("bn")
        });
    let embeddingish = ["embed", "wte", "wpe"].iter().any(|w| lower.contains(w));
    match weight_shape.len() {
        _ if normish => LayerKind::Norm,
        3..=5 => LayerKind::Conv,
        2 if embeddingish => LayerKind::Embedding,
        2 => LayerKind::Linear,
        _ => LayerKind::Norm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, shape: &[usize], siblings: &[(&str, &'static [usize])]) -> LayerKind {
        let (prefix, param) = name.rsplit_once('.').unwrap_or(("", name));
        kind_of(name, prefix, param, shape, |p| siblings.iter().find(|s| s.0 == p).map(|s| s.1))
    }

    #[test]
    fn kinds_follow_names_and_shapes() {
        assert_eq!(kind("conv1.weight", &[64, 3, 7, 7], &[]), LayerKind::Conv);
        assert_eq!(kind("conv1.bias", &[64], &[("weight", &[64, 3, 7, 7])]), LayerKind::Conv);
        assert_eq!(kind("layer1.0.downsample.1.weight", &[256], &[("running_mean", &[256])]), LayerKind::Batchnorm);
        assert_eq!(kind("bn1.num_batches_tracked", &[], &[]), LayerKind::Batchnorm);
        assert_eq!(kind("model.layers.0.input_layernorm.weight", &[64], &[]), LayerKind::Norm);
        assert_eq!(kind("transformer.h.0.ln_1.bias", &[64], &[("weight", &[64])]), LayerKind::Norm);
        assert_eq!(kind("transformer.wte.weight", &[50257, 768], &[]), LayerKind::Embedding);
        assert_eq!(kind("fc.weight", &[1000, 2048], &[]), LayerKind::Linear);
        assert_eq!(kind("fc.bias", &[1000], &[("weight", &[1000, 2048])]), LayerKind::Linear);
        assert_eq!(kind("encoder.pos_embedding", &[1, 197, 768], &[]), LayerKind::Other);
        assert_eq!(kind("head.scale.weight", &[64], &[]), LayerKind::Norm);
    }
}
