//! Rules beyond PyTorch's defaults, attention's packed projections, autodiff devices, plans and
//! errors. Expected values are nninit's CPU fills of the PyTorch tensor each parameter is,
//! computed here from the scheme, shape and name.

mod common;

use burn::module::{Module, Param};
use burn::nn::attention::{MultiHeadAttention, MultiHeadAttentionConfig};
use burn::tensor::{Device, Tensor};
use common::{adapters, initializers, Block, Mlp};
use nninit::cpu::CpuBackend;
use nninit::model::Rule;
use nninit::{name_stream, Dtype, Fill, Region, Scheme, Stream};
use nninit_burn::{Error, Initializer, Layout, Rules};

const SEED: u64 = 7;

/// nninit's CPU fill of PyTorch's tensor `name` of `shape` with `scheme`, elements `range`.
fn expected(
    scheme: &Scheme,
    shape: &[usize],
    name: &str,
    range: std::ops::Range<u64>,
    zero_row: Option<u64>,
) -> Vec<f32> {
    let mut fill = Fill::new(scheme, shape, Stream::new(SEED, name_stream(name))).expect("fill");
    if let Some(row) = zero_row {
        fill = fill.with_zero_row(row).expect("row");
    }
    let mut out = vec![0f32; (range.end - range.start) as usize];
    CpuBackend::new()
        .fill(&fill, &Region::Elements(range), Dtype::F32, bytemuck::cast_slice_mut(&mut out))
        .expect("cpu fill");
    out
}

/// A parameter's values in PyTorch's layout (a burn Linear weight transposed back).
fn values<const D: usize>(param: &Param<Tensor<D>>, transposed: bool) -> Vec<f32> {
    let value = param.val();
    let value = if transposed { value.transpose() } else { value };
    value.into_data().try_to_vec::<f32>().expect("f32 values")
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[derive(Module, Debug)]
struct Attention {
    attn: MultiHeadAttention,
}

#[test]
fn attention_is_pytorchs_packed_in_proj() {
    let d = 32usize;
    let in_proj = Scheme::xavier_uniform(1.0).unwrap();
    let linear = Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu").unwrap();
    for (device, init) in initializers() {
        let mut model = Attention { attn: MultiHeadAttentionConfig::new(d, 4).init(&device) };
        init.init(&mut model, SEED, &Rules::pytorch()).expect("init");
        let n = (d * d) as u64;
        for (block, linear_) in [&model.attn.query, &model.attn.key, &model.attn.value].into_iter().enumerate() {
            let block = block as u64;
            let want = expected(&in_proj, &[3 * d, d], "attn.in_proj_weight", block * n..(block + 1) * n, None);
            assert_eq!(bits(&values(&linear_.weight, true)), bits(&want), "in_proj block {block} on {device:?}");
            let bias = values(linear_.bias.as_ref().expect("bias"), false);
            assert!(bias.iter().all(|&b| b.to_bits() == 0), "in_proj_bias is zeros");
        }
        let want = expected(&linear, &[d, d], "attn.out_proj.weight", 0..n, None);
        assert_eq!(bits(&values(&model.attn.output.weight, true)), bits(&want), "out_proj on {device:?}");
        assert!(values(model.attn.output.bias.as_ref().unwrap(), false).iter().all(|&b| b.to_bits() == 0));
    }
}

#[test]
fn transformers_rules_a_rule_and_a_padding_row() {
    let rules = Rules::transformers(0.02)
        .unwrap()
        .rule(Rule::for_name("up_proj.weight", Scheme::orthogonal(1.0).unwrap()))
        .padding_idx("embed.weight", 3);
    let normal = Scheme::normal(0.0, 0.02).unwrap();
    for adapter in adapters() {
        let init = Initializer::new(&adapter.device, &adapter.setup).expect("init");
        let mut block = Block::new(&adapter.device);
        init.init(&mut block, SEED, &rules).expect("init");
        let embed = values(&block.embed.weight, false);
        let want = expected(&normal, &[100, 64], "embed.weight", 0..6400, Some(3));
        assert_eq!(bits(&embed), bits(&want), "embedding with its padding row on {}", adapter.name);
        assert!(embed[3 * 64..4 * 64].iter().all(|&x| x.to_bits() == 0));
        let want = expected(&normal, &[64, 64], "q_proj.weight", 0..4096, None);
        assert_eq!(bits(&values(&block.q_proj.weight, true)), bits(&want), "q_proj on {}", adapter.name);
        assert!(values(block.q_proj.bias.as_ref().unwrap(), false).iter().all(|&b| b.to_bits() == 0));
        let orthogonal = Scheme::orthogonal(1.0).unwrap();
        let want = expected(&orthogonal, &[176, 64], "up_proj.weight", 0..176 * 64, None);
        assert_eq!(
            bits(&values(&block.up_proj.weight, true)),
            bits(&want),
            "the rule's orthogonal on {}",
            adapter.name
        );
        assert!(values(&block.input_norm.gamma, false).iter().all(|&x| x == 1.0));
    }
}

#[test]
fn autodiff_parameters_stay_trainable() {
    for adapter in adapters() {
        let init = Initializer::new(&adapter.device, &adapter.setup).expect("init");
        let mut plain = Mlp::new(&adapter.device);
        init.init(&mut plain, SEED, &Rules::pytorch()).expect("init");
        let mut trained = Mlp::new(&adapter.device.clone().autodiff());
        init.init(&mut trained, SEED, &Rules::pytorch()).expect("init on an autodiff device");
        assert!(trained.fc1.weight.val().is_require_grad(), "fc1.weight requires grad");
        assert!(trained.fc1.weight.val().device().is_autodiff());
        assert_eq!(bits(&values(&trained.fc1.weight, false)), bits(&values(&plain.fc1.weight, false)));
        assert_eq!(bits(&values(&trained.fc2.weight, false)), bits(&values(&plain.fc2.weight, false)));
    }
}

#[test]
fn plans_name_tensors_as_pytorch() {
    let device = Device::flex();
    let plan = Initializer::plan(&Mlp::new(&device), SEED, &Rules::pytorch()).expect("plan");
    let seen: Vec<(&str, &str, Vec<usize>, Layout)> =
        plan.slots.iter().map(|s| (s.path.as_str(), s.tensor.as_str(), s.shape.clone(), s.layout)).collect();
    assert_eq!(
        seen,
        vec![
            ("fc1.weight", "fc1.weight", vec![64, 48], Layout::Transposed),
            ("fc1.bias", "fc1.bias", vec![64], Layout::Same),
            ("fc2.weight", "fc2.weight", vec![64, 64], Layout::TransposedOnLoad),
            ("fc2.bias", "fc2.bias", vec![64], Layout::Same),
            ("head.weight", "head.weight", vec![10, 64], Layout::Transposed),
        ]
    );
    let bias = plan.model.tensor("fc1.bias").expect("fc1.bias");
    assert_eq!(
        bias.scheme,
        Scheme::uniform(-1.0 / 48f64.sqrt(), 1.0 / 48f64.sqrt()).unwrap(),
        "bias bound 1/sqrt(fan_in)"
    );
    let block = Initializer::plan(&Block::new(&device), SEED, &Rules::pytorch()).expect("plan");
    let norm: Vec<&str> =
        block.slots.iter().filter(|s| s.module.ends_with("Norm")).map(|s| s.tensor.as_str()).collect();
    assert_eq!(norm, ["input_norm.weight", "input_norm.bias", "post_norm.weight"]);
}

#[derive(Module, Debug)]
struct Custom {
    fc: burn::nn::Linear,
    scale: Param<Tensor<1>>,
}

#[test]
fn an_uncovered_parameter_is_an_error_and_the_module_is_kept() {
    let device = Device::flex();
    let make = || Custom {
        fc: burn::nn::LinearConfig::new(4, 4).init(&device),
        scale: Param::from_tensor(Tensor::ones([4], &device)),
    };
    let mut model = make();
    let err = nninit_burn::init(&mut model, SEED, &Rules::pytorch()).expect_err("scale has no rule");
    assert!(matches!(err, Error::Nninit(_)));
    let message = err.to_string();
    assert!(message.contains("no rule covers tensor scale"), "{message}");
    assert!(!model.fc.weight.is_initialized(), "the module is as it was");
    let rules = Rules::pytorch().rule(Rule::for_name("scale", Scheme::constant(0.5).unwrap()));
    nninit_burn::init(&mut model, SEED, &rules).expect("covered");
    assert!(values(&model.scale, false).iter().all(|&x| x == 0.5));
    let err = nninit_burn::init(&mut make(), SEED, &Rules::from_rules(vec![])).expect_err("no rules");
    assert!(err.to_string().contains("no rule covers tensor fc.weight"), "{err}");
}
