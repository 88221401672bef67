//! Preset models: torchvision's ResNet-50, CPN-50 (Cascaded Pyramid Network on a ResNet-50
//! trunk), and a Llama-style decoder-only transformer, each with its rules.

use crate::error::{Error, Result};
use crate::scheme::Scheme;

use super::rules::Rule;
use super::spec::ModelSpec;
use super::tensor::{ElementType, LayerKind, TensorSpec};

/// The preset names [`preset`] knows.
pub const PRESETS: &[&str] = &["resnet50", "cpn50", "transformer-tiny", "transformer-1b", "transformer-7b"];

/// The preset `name`: `cpn50` takes `num_class` (default 17); `transformer-*` are
/// [`TransformerConfig::named`] configs.
pub fn preset(name: &str, num_class: Option<usize>) -> Result<ModelSpec> {
    match name {
        "resnet50" => Ok(resnet50()),
        "cpn50" => cpn50(num_class.unwrap_or(17)),
        _ => match TransformerConfig::named(name) {
            Some(config) => transformer(name, &config),
            None => Err(Error::InvalidParameter(format!(
                "unknown model {name}: use one of {} or a spec file (.json)",
                PRESETS.join(", ")
            ))),
        },
    }
}

/// CPN's rules: every conv weight `normal(0, sqrt(2 / (kh kw out_channels)))`, i.e.
/// `kaiming_normal(mode="fan_out", nonlinearity="relu")`, conv bias 0; batch norm weight 1,
/// bias 0, running mean 0, running variance 1, `num_batches_tracked` 0.
pub fn cpn_rules() -> Vec<Rule> {
    vec![
        Rule::for_param(LayerKind::Conv, "weight", known(Scheme::kaiming_normal(0.0, "fan_out", "relu"))),
        Rule::for_param(LayerKind::Conv, "bias", Scheme::zeros()),
        Rule::for_param(LayerKind::Batchnorm, "weight", Scheme::ones()),
        Rule::for_param(LayerKind::Batchnorm, "bias", Scheme::zeros()),
        Rule::for_param(LayerKind::Batchnorm, "running_mean", Scheme::zeros()),
        Rule::for_param(LayerKind::Batchnorm, "running_var", Scheme::ones()),
        Rule::for_param(LayerKind::Batchnorm, "num_batches_tracked", Scheme::zeros()),
    ]
}

/// `nn.Linear`'s own default: weight `kaiming_uniform(a=sqrt(5))`, i.e. `U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in))`. (Its bias bound depends on the weight's fan-in, so presets give linear
/// biases an explicit scheme.)
pub fn linear_default_rules() -> Vec<Rule> {
    vec![Rule::for_param(
        LayerKind::Linear,
        "weight",
        known(Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu")),
    )]
}

/// A scheme whose parameters are this file's constants, which are valid.
fn known(scheme: Result<Scheme>) -> Scheme {
    scheme.expect("a preset's constant parameters are valid")
}

/// Appends tensors in `state_dict` order.
#[derive(Default)]
struct Builder {
    tensors: Vec<TensorSpec>,
}

impl Builder {
    fn push(&mut self, name: String, shape: &[usize], kind: LayerKind) -> &mut TensorSpec {
        self.tensors.push(TensorSpec::new(name, shape, kind));
        self.tensors.last_mut().expect("just pushed")
    }

    /// A square `k x k` 2-D convolution.
    fn conv(&mut self, name: &str, cin: usize, cout: usize, k: usize, bias: bool) {
        self.push(format!("{name}.weight"), &[cout, cin, k, k], LayerKind::Conv);
        if bias {
            self.push(format!("{name}.bias"), &[cout], LayerKind::Conv);
        }
    }

    /// `nn.BatchNorm2d(c)`: weight, bias and the three buffers.
    fn batchnorm(&mut self, name: &str, c: usize) {
        for param in ["weight", "bias", "running_mean", "running_var"] {
            self.push(format!("{name}.{param}"), &[c], LayerKind::Batchnorm);
        }
        self.push(format!("{name}.num_batches_tracked"), &[], LayerKind::Batchnorm).dtype = Some(ElementType::I64);
    }

    /// `nn.Linear(cin, cout, bias)`; the bias gets PyTorch's default `U(-1/sqrt(cin), 1/sqrt(cin))`.
    fn linear(&mut self, name: &str, cin: usize, cout: usize, bias: bool) {
        self.push(format!("{name}.weight"), &[cout, cin], LayerKind::Linear);
        if bias {
            let bound = 1.0 / (cin as f64).sqrt();
            self.push(format!("{name}.bias"), &[cout], LayerKind::Linear).scheme =
                Some(known(Scheme::uniform(-bound, bound)));
        }
    }

    /// torchvision's ResNet-50 trunk (stem and four stages of bottlenecks), under `prefix`.
    fn resnet50_trunk(&mut self, prefix: &str) {
        self.conv(&format!("{prefix}conv1"), 3, 64, 7, false);
        self.batchnorm(&format!("{prefix}bn1"), 64);
        let mut inplanes = 64;
        for (stage, (planes, blocks)) in [(64, 3), (128, 4), (256, 6), (512, 3)].into_iter().enumerate() {
            for block in 0..blocks {
                let name = format!("{prefix}layer{}.{block}", stage + 1);
                self.conv(&format!("{name}.conv1"), inplanes, planes, 1, false);
                self.batchnorm(&format!("{name}.bn1"), planes);
                self.conv(&format!("{name}.conv2"), planes, planes, 3, false);
                self.batchnorm(&format!("{name}.bn2"), planes);
                self.conv(&format!("{name}.conv3"), planes, planes * 4, 1, false);
                self.batchnorm(&format!("{name}.bn3"), planes * 4);
                if block == 0 {
                    self.conv(&format!("{name}.downsample.0"), inplanes, planes * 4, 1, false);
                    self.batchnorm(&format!("{name}.downsample.1"), planes * 4);
                }
                inplanes = planes * 4;
            }
        }
    }

    /// CPN's RefineNet bottleneck with input `c`: 1x1 c->128, 3x3 128->128, 1x1 128->256, and a
    /// 1x1 c->256 downsample, each followed by a batch norm.
    fn refine_bottleneck(&mut self, name: &str, c: usize) {
        self.conv(&format!("{name}.conv1"), c, 128, 1, false);
        self.batchnorm(&format!("{name}.bn1"), 128);
        self.conv(&format!("{name}.conv2"), 128, 128, 3, false);
        self.batchnorm(&format!("{name}.bn2"), 128);
        self.conv(&format!("{name}.conv3"), 128, 256, 1, false);
        self.batchnorm(&format!("{name}.bn3"), 256);
        self.conv(&format!("{name}.downsample.0"), c, 256, 1, false);
        self.batchnorm(&format!("{name}.downsample.1"), 256);
    }

    fn finish(self, name: &str, rules: Vec<Rule>) -> ModelSpec {
        ModelSpec { name: name.into(), tensors: self.tensors, rules }
    }
}

/// torchvision's `resnet50()`: its 320 `state_dict` entries (25,557,032 parameters), with CPN's
/// rules for the convolutions and batch norms and `nn.Linear`'s default for `fc`.
pub fn resnet50() -> ModelSpec {
    let mut b = Builder::default();
    b.resnet50_trunk("");
    b.linear("fc", 2048, 1000, true);
    let mut rules = cpn_rules();
    rules.extend(linear_default_rules());
    b.finish("resnet50", rules)
}

/// CPN-50 with `num_class` keypoints: `resnet.` (the ResNet-50 trunk, no `fc`), `global_net.`
/// and `refine_net.`, with CPN's rules.
pub fn cpn50(num_class: usize) -> Result<ModelSpec> {
    if num_class == 0 {
        return Err(Error::InvalidParameter("cpn50: --num-class must be at least 1".into()));
    }
    let mut b = Builder::default();
    b.resnet50_trunk("resnet.");
    let channels = [2048, 1024, 512, 256];
    for (i, c) in channels.into_iter().enumerate() {
        b.conv(&format!("global_net.laterals.{i}.0"), c, 256, 1, false);
        b.batchnorm(&format!("global_net.laterals.{i}.1"), 256);
    }
    for i in 0..channels.len() - 1 {
        b.conv(&format!("global_net.upsamples.{i}.1"), 256, 256, 1, true);
        b.batchnorm(&format!("global_net.upsamples.{i}.2"), 256);
    }
    for i in 0..channels.len() {
        b.conv(&format!("global_net.predict.{i}.0"), 256, 256, 1, false);
        b.batchnorm(&format!("global_net.predict.{i}.1"), 256);
        b.conv(&format!("global_net.predict.{i}.3"), 256, num_class, 3, false);
        b.batchnorm(&format!("global_net.predict.{i}.5"), num_class);
    }
    for i in 0..4 {
        for j in 0..3 - i {
            b.refine_bottleneck(&format!("refine_net.cascade.{i}.{j}"), 256);
        }
    }
    b.refine_bottleneck("refine_net.final_predict.0", 1024);
    b.conv("refine_net.final_predict.1", 256, num_class, 3, false);
    b.batchnorm("refine_net.final_predict.2", num_class);
    Ok(b.finish("cpn50", cpn_rules()))
}

/// A Llama-style decoder-only transformer's configuration.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TransformerConfig {
    /// Vocabulary size.
    pub vocab: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// MLP (SwiGLU) intermediate size.
    pub mlp: usize,
    /// Whether the output head shares the embedding's weights (no `lm_head.weight`).
    pub tied_embeddings: bool,
    /// Standard deviation of the projections and embeddings.
    pub init_std: f64,
}

impl TransformerConfig {
    /// The named configs: `transformer-tiny` (tests), `transformer-1b` (Llama-3.2-1B's shapes,
    /// 1,235,814,400 parameters) and `transformer-7b` (Llama-2-7B's, 6,738,415,616).
    pub fn named(name: &str) -> Option<Self> {
        let (vocab, hidden, layers, heads, kv_heads, mlp, tied_embeddings) = match name {
            "transformer-tiny" => (512, 64, 2, 4, 2, 176, false),
            "transformer-1b" => (128_256, 2048, 16, 32, 8, 8192, true),
            "transformer-7b" => (32_000, 4096, 32, 32, 32, 11_008, false),
            _ => return None,
        };
        Some(Self { vocab, hidden, layers, heads, kv_heads, mlp, tied_embeddings, init_std: 0.02 })
    }

    fn check(&self) -> Result<()> {
        let sizes = [self.vocab, self.hidden, self.layers, self.heads, self.kv_heads, self.mlp];
        if sizes.contains(&0) {
            return Err(Error::InvalidParameter(format!("transformer: every size must be at least 1, got {self:?}")));
        }
        if !self.hidden.is_multiple_of(self.heads) {
            return Err(Error::InvalidParameter(format!(
                "transformer: hidden {} is not divisible by heads {}",
                self.hidden, self.heads
            )));
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(Error::InvalidParameter(format!(
                "transformer: heads {} is not divisible by kv heads {}",
                self.heads, self.kv_heads
            )));
        }
        Ok(())
    }
}

/// A decoder-only transformer in Hugging Face Llama naming: embeddings, per layer RMSNorms,
/// q/k/v/o projections and a SwiGLU MLP, a final norm and (untied) `lm_head`.
///
/// Rules (GPT-2 / Megatron style): embeddings and projections `normal(0, init_std)`, the two
/// projections that write into the residual stream (`o_proj`, `down_proj`) `normal(0, init_std /
/// sqrt(2 layers))`, norms 1.
pub fn transformer(name: &str, config: &TransformerConfig) -> Result<ModelSpec> {
    config.check()?;
    let (h, head_dim) = (config.hidden, config.hidden / config.heads);
    // Sized up front: the tensor list and, about, its names.
    let count = config.layers.checked_mul(9).and_then(|n| n.checked_add(3));
    let bytes = count.and_then(|n| n.checked_mul(std::mem::size_of::<TensorSpec>() + 64));
    let what = || format!("the spec of a {}-layer transformer", config.layers);
    let mut probe: Vec<u8> = Vec::new();
    probe
        .try_reserve_exact(bytes.ok_or_else(|| Error::OutOfMemory { what: what() })?)
        .map_err(|_| Error::OutOfMemory { what: format!("{} bytes for {}", bytes.unwrap_or(0), what()) })?;
    drop(probe);
    let mut b = Builder::default();
    b.tensors.try_reserve_exact(count.unwrap_or(0)).map_err(|_| Error::OutOfMemory { what: what() })?;
    b.push("model.embed_tokens.weight".into(), &[config.vocab, h], LayerKind::Embedding);
    for layer in 0..config.layers {
        let p = format!("model.layers.{layer}");
        b.push(format!("{p}.input_layernorm.weight"), &[h], LayerKind::Norm);
        b.linear(&format!("{p}.self_attn.q_proj"), h, config.heads * head_dim, false);
        b.linear(&format!("{p}.self_attn.k_proj"), h, config.kv_heads * head_dim, false);
        b.linear(&format!("{p}.self_attn.v_proj"), h, config.kv_heads * head_dim, false);
        b.linear(&format!("{p}.self_attn.o_proj"), config.heads * head_dim, h, false);
        b.push(format!("{p}.post_attention_layernorm.weight"), &[h], LayerKind::Norm);
        b.linear(&format!("{p}.mlp.gate_proj"), h, config.mlp, false);
        b.linear(&format!("{p}.mlp.up_proj"), h, config.mlp, false);
        b.linear(&format!("{p}.mlp.down_proj"), config.mlp, h, false);
    }
    b.push("model.norm.weight".into(), &[h], LayerKind::Norm);
    if !config.tied_embeddings {
        b.linear("lm_head", h, config.vocab, false);
    }
    let std = config.init_std;
    let residual_std = std / (2.0 * config.layers as f64).sqrt();
    let rules = vec![
        Rule::for_name("*.o_proj.weight", Scheme::normal(0.0, residual_std)?),
        Rule::for_name("*.down_proj.weight", Scheme::normal(0.0, residual_std)?),
        Rule::for_param(LayerKind::Linear, "weight", Scheme::normal(0.0, std)?),
        Rule::for_param(LayerKind::Linear, "bias", Scheme::zeros()),
        Rule::for_param(LayerKind::Embedding, "weight", Scheme::normal(0.0, std)?),
        Rule::for_param(LayerKind::Norm, "weight", Scheme::ones()),
        Rule::for_param(LayerKind::Norm, "bias", Scheme::zeros()),
    ];
    Ok(b.finish(name, rules))
}
