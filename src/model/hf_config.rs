//! A Hugging Face `config.json` of the Llama family (`model_type` llama, mistral, qwen2) as a
//! model spec: transformers' tensor names and shapes and its `_init_weights`.

use std::path::Path;

use serde_json::Value;

use crate::contract::dtype::Dtype;
use crate::error::{Error, Result};
use crate::scheme::Scheme;

use super::rules::Rule;
use super::spec::ModelSpec;
use super::tensor::{LayerKind, TensorSpec};

/// The `model_type`s [`HfConfig`] understands.
pub const HF_MODEL_TYPES: &[&str] = &["llama", "mistral", "qwen2"];

/// What nninit reads of a Hugging Face `config.json` (every other key is ignored, as
/// transformers' weights do not depend on it).
///
/// The spec it builds has `LlamaForCausalLM`'s (`MistralForCausalLM`'s, `Qwen2ForCausalLM`'s)
/// `state_dict` names and shapes (`model.embed_tokens.weight`, `model.layers.N.self_attn.q_proj.weight`,
/// ..., `lm_head.weight` unless `tie_word_embeddings`), grouped-query heads, `head_dim` where the
/// config sets it, biases where the config or the architecture has them (llama:
/// `attention_bias` on q/k/v/o, `mlp_bias` on gate/up/down; qwen2: q/k/v always), and the
/// rules of transformers' `_init_weights`: linear and embedding weights `normal(0,
/// initializer_range)`, biases zeros, norms ones, and the embedding row of `pad_token_id` zeros
/// where the config sets one (`nn.Embedding`'s `padding_idx`; a negative one counts from the
/// end, as in PyTorch).
///
/// ```
/// use nninit::model::HfConfig;
/// let config: serde_json::Value = serde_json::json!({
///     "model_type": "llama", "vocab_size": 1000, "hidden_size": 64, "intermediate_size": 176,
///     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
///     "attention_bias": false, "rope_theta": 10000.0, "torch_dtype": "bfloat16"
/// });
/// let config = HfConfig::from_json(&config)?;
/// let spec = config.spec()?;
/// assert_eq!(spec.tensors[2].name, "model.layers.0.self_attn.k_proj.weight");
/// assert_eq!(spec.tensors[2].shape, [32, 64]);
/// assert_eq!(config.dtype, Some(nninit::Dtype::Bf16));
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct HfConfig {
    /// `model_type`: llama, mistral or qwen2.
    pub model_type: String,
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `hidden_size`.
    pub hidden_size: usize,
    /// `intermediate_size`.
    pub intermediate_size: usize,
    /// `num_hidden_layers`.
    pub num_hidden_layers: usize,
    /// `num_attention_heads`.
    pub num_attention_heads: usize,
    /// `num_key_value_heads` (default: `num_attention_heads`).
    pub num_key_value_heads: usize,
    /// `head_dim` (default: `hidden_size / num_attention_heads`).
    pub head_dim: usize,
    /// `tie_word_embeddings` (default false): no `lm_head.weight` of its own.
    pub tie_word_embeddings: bool,
    /// Biases on q/k/v (llama: `attention_bias`; qwen2: always).
    pub qkv_bias: bool,
    /// A bias on o_proj (llama: `attention_bias`).
    pub o_bias: bool,
    /// Biases on the MLP's projections (llama: `mlp_bias`).
    pub mlp_bias: bool,
    /// `initializer_range` (default 0.02): the std of linear and embedding weights.
    pub initializer_range: f64,
    /// `torch_dtype` (or `dtype`), where it names f32, f16 or bf16.
    pub dtype: Option<Dtype>,
    /// `pad_token_id`, where set: the embedding row written as zeros (negative values already
    /// counted from the end, as `nn.Embedding` does).
    pub pad_token_id: Option<u64>,
}

impl HfConfig {
    /// Reads `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let json: Value = crate::io::read_json(path)?;
        Self::from_json(&json).map_err(|e| match e {
            Error::InvalidParameter(m) => Error::InvalidParameter(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// Whether `json` looks like a Hugging Face config (it has `model_type`) rather than an
    /// nninit spec.
    pub fn is_hf_config(json: &Value) -> bool {
        json.get("model_type").is_some() && json.get("tensors").is_none()
    }

    /// Reads the keys nninit needs from a parsed `config.json`.
    pub fn from_json(json: &Value) -> Result<Self> {
        let bad = |m: String| Error::InvalidParameter(m);
        if !json.is_object() {
            return Err(bad("a Hugging Face config must be a JSON object".into()));
        }
        let model_type = match json.get("model_type") {
            Some(Value::String(t)) => t.clone(),
            Some(other) => return Err(bad(format!("model_type must be a string, not {other}"))),
            None => return Err(bad("no model_type: not a Hugging Face config.json".into())),
        };
        if !HF_MODEL_TYPES.contains(&model_type.as_str()) {
            return Err(bad(format!(
                "model_type {model_type:?} is not supported: use one of {} (the Llama family)",
                HF_MODEL_TYPES.join(", ")
            )));
        }
        let size = |key: &str| -> Result<Option<usize>> {
            match json.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                    Some(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(bad(format!("{key} must be a whole number of at least 1, not {v}"))),
                },
            }
        };
        let required = |key: &str| size(key)?.ok_or_else(|| bad(format!("{model_type} config lacks {key}")));
        let flag = |key: &str| -> Result<bool> {
            match json.get(key) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(v) => Err(bad(format!("{key} must be true or false, not {v}"))),
            }
        };
        let hidden_size = required("hidden_size")?;
        let num_attention_heads = required("num_attention_heads")?;
        let num_key_value_heads = size("num_key_value_heads")?.unwrap_or(num_attention_heads);
        let head_dim = match size("head_dim")? {
            Some(d) => d,
            None if hidden_size.is_multiple_of(num_attention_heads) => hidden_size / num_attention_heads,
            None => {
                return Err(bad(format!(
                    "hidden_size {hidden_size} is not divisible by num_attention_heads {num_attention_heads} (and no head_dim is given)"
                )))
            }
        };
        if !num_attention_heads.is_multiple_of(num_key_value_heads) {
            return Err(bad(format!(
                "num_attention_heads {num_attention_heads} is not divisible by num_key_value_heads {num_key_value_heads}"
            )));
        }
        // The std of a float32 normal: PyTorch refuses one beyond float32's range.
        let initializer_range = match json.get("initializer_range") {
            None | Some(Value::Null) => 0.02,
            Some(v) => match v.as_f64() {
                Some(x) if (0.0..=f64::from(f32::MAX)).contains(&x) => x,
                _ => {
                    return Err(bad(format!(
                        "initializer_range must be a number from 0 to {:e} (a float32 std), not {v}",
                        f32::MAX
                    )))
                }
            },
        };
        let dtype_key = if json.get("torch_dtype").is_some() { "torch_dtype" } else { "dtype" };
        let dtype = match json.get(dtype_key) {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => match name.trim_start_matches("torch.") {
                "float32" | "float" => Some(Dtype::F32),
                "float16" | "half" => Some(Dtype::F16),
                "bfloat16" => Some(Dtype::Bf16),
                // transformers' "auto": the checkpoint's own dtype, which a new model has not.
                "auto" => None,
                other => {
                    return Err(bad(format!(
                        "{dtype_key} {other:?} cannot be written by nninit: nninit writes float32, float16 or bfloat16"
                    )))
                }
            },
            Some(v) => return Err(bad(format!("{dtype_key} must be a dtype's name such as \"bfloat16\", not {v}"))),
        };
        let attention_bias = model_type == "llama" && flag("attention_bias")?;
        let vocab_size = required("vocab_size")?;
        // nn.Embedding(vocab_size, hidden_size, padding_idx=pad_token_id), PyTorch's checks.
        let pad_token_id = match json.get("pad_token_id") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let id = v.as_i64().ok_or_else(|| bad(format!("pad_token_id must be a whole number, not {v}")))?;
                let row = crate::Fill::padding_row(id, vocab_size as u64);
                Some(row.ok_or_else(|| {
                    bad(format!(
                        "Padding_idx must be within num_embeddings: pad_token_id {id} with vocab_size {vocab_size}"
                    ))
                })?)
            }
        };
        Ok(Self {
            vocab_size,
            hidden_size,
            intermediate_size: required("intermediate_size")?,
            num_hidden_layers: required("num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            tie_word_embeddings: flag("tie_word_embeddings")?,
            qkv_bias: attention_bias || model_type == "qwen2",
            o_bias: attention_bias,
            mlp_bias: model_type == "llama" && flag("mlp_bias")?,
            initializer_range,
            dtype,
            pad_token_id,
            model_type,
        })
    }

    /// The model's spec: tensors in transformers' `state_dict` order, and its init rules.
    pub fn spec(&self) -> Result<ModelSpec> {
        let (h, d) = (self.hidden_size, self.head_dim);
        let product = |a: usize, b: usize| {
            a.checked_mul(b).ok_or_else(|| Error::InvalidShape(format!("{a} x {b} overflows a tensor size")))
        };
        let (q, kv) = (product(self.num_attention_heads, d)?, product(self.num_key_value_heads, d)?);
        let count = self.num_hidden_layers.checked_mul(16).and_then(|n| n.checked_add(3));
        let bytes = count.and_then(|n| n.checked_mul(std::mem::size_of::<TensorSpec>() + 64));
        let what = || format!("the spec of a {}-layer model", self.num_hidden_layers);
        let bytes = bytes.ok_or_else(|| Error::OutOfMemory { what: what() })?;
        let mut tensors: Vec<TensorSpec> = Vec::new();
        tensors
            .try_reserve_exact(bytes / (std::mem::size_of::<TensorSpec>() + 64))
            .map_err(|_| Error::OutOfMemory { what: format!("{bytes} bytes for {}", what()) })?;
        let mut embedding = TensorSpec::new("model.embed_tokens.weight", &[self.vocab_size, h], LayerKind::Embedding);
        embedding.padding_idx = self.pad_token_id;
        tensors.push(embedding);
        let mut push =
            |name: String, shape: &[usize], kind: LayerKind| tensors.push(TensorSpec::new(name, shape, kind));
        for layer in 0..self.num_hidden_layers {
            let p = format!("model.layers.{layer}");
            let mut linear = |name: &str, cin: usize, cout: usize, bias: bool| {
                push(format!("{p}.{name}.weight"), &[cout, cin], LayerKind::Linear);
                if bias {
                    push(format!("{p}.{name}.bias"), &[cout], LayerKind::Linear);
                }
            };
            linear("self_attn.q_proj", h, q, self.qkv_bias);
            linear("self_attn.k_proj", h, kv, self.qkv_bias);
            linear("self_attn.v_proj", h, kv, self.qkv_bias);
            linear("self_attn.o_proj", q, h, self.o_bias);
            linear("mlp.gate_proj", h, self.intermediate_size, self.mlp_bias);
            linear("mlp.up_proj", h, self.intermediate_size, self.mlp_bias);
            linear("mlp.down_proj", self.intermediate_size, h, self.mlp_bias);
            push(format!("{p}.input_layernorm.weight"), &[h], LayerKind::Norm);
            push(format!("{p}.post_attention_layernorm.weight"), &[h], LayerKind::Norm);
        }
        push("model.norm.weight".into(), &[h], LayerKind::Norm);
        if !self.tie_word_embeddings {
            push("lm_head.weight".into(), &[self.vocab_size, h], LayerKind::Linear);
        }
        let std = self.initializer_range;
        let rules = vec![
            Rule::for_param(LayerKind::Linear, "weight", Scheme::normal(0.0, std)?),
            Rule::for_param(LayerKind::Linear, "bias", Scheme::zeros()),
            Rule::for_param(LayerKind::Embedding, "weight", Scheme::normal(0.0, std)?),
            Rule::for_param(LayerKind::Norm, "weight", Scheme::ones()),
        ];
        Ok(ModelSpec { name: self.model_type.clone(), tensors, rules })
    }
}
