//! The planner against PyTorch's formulas (written out here, independently of src/planner.rs) and
//! PyTorch's error messages.

use nninit::{calculate_gain, fans};
use nninit::{Plan, Scheme};

const SHAPES: &[&[usize]] = &[
    &[10, 20],
    &[1, 1],
    &[256, 128],
    &[64, 3, 7, 7],
    &[512, 256, 1, 1],
    &[128, 64, 3],
    &[32, 16, 3, 3, 3],
    &[1000, 2048],
    &[3, 5, 2, 2, 2],
];

/// PyTorch's `_calculate_fan_in_and_fan_out`, written out.
fn torch_fans(shape: &[usize]) -> (f64, f64) {
    let rf: usize = if shape.len() > 2 { shape[2..].iter().product() } else { 1 };
    ((shape[1] * rf) as f64, (shape[0] * rf) as f64)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-15 * b.abs().max(1e-300)
}

#[test]
fn fans_match_pytorch() {
    for shape in SHAPES {
        let (fi, fo) = fans(shape).unwrap();
        assert_eq!((fi as f64, fo as f64), torch_fans(shape), "{shape:?}");
    }
}

#[test]
fn xavier_matches_pytorch() {
    for shape in SHAPES {
        for gain in [1.0, 5.0 / 3.0, 0.5] {
            let (fi, fo) = torch_fans(shape);
            let std = gain * (2.0 / (fi + fo)).sqrt();
            let u = Plan::new(&Scheme::xavier_uniform(gain).unwrap(), shape).unwrap();
            assert!(close(u.std().unwrap(), std) && close(u.bound().unwrap(), 3f64.sqrt() * std), "{shape:?}");
            let n = Plan::new(&Scheme::xavier_normal(gain).unwrap(), shape).unwrap();
            assert!(close(n.std().unwrap(), std) && n.bound().is_none());
        }
    }
    // 64x3x7x7 -> fan_in 147, fan_out 3136, std = math.sqrt(2 / 3283) in Python.
    let p = Plan::new(&Scheme::xavier_uniform(1.0).unwrap(), &[64, 3, 7, 7]).unwrap();
    assert!((p.std().unwrap() - 0.024_681_955_016_610_288).abs() < 1e-17);
}

#[test]
fn kaiming_matches_pytorch() {
    let cases = [
        (0.0, "fan_in", "leaky_relu", (2.0f64 / 1.0).sqrt()),
        (0.2, "fan_in", "leaky_relu", (2.0f64 / 1.04).sqrt()),
        (0.2, "FAN_OUT", "relu", 2f64.sqrt()),
        (0.0, "fan_out", "tanh", 5.0 / 3.0),
        (0.0, "Fan_In", "linear", 1.0),
        (0.0, "fan_in", "selu", 0.75),
        (0.0, "fan_in", "conv_transpose2d", 1.0),
    ];
    for shape in SHAPES {
        for (a, mode, nonlinearity, gain) in cases {
            let (fi, fo) = torch_fans(shape);
            let fan = if mode.to_lowercase() == "fan_in" { fi } else { fo };
            let std = gain / fan.sqrt();
            let u = Plan::new(&Scheme::kaiming_uniform(a, mode, nonlinearity).unwrap(), shape).unwrap();
            assert!(close(u.gain().unwrap(), gain), "{nonlinearity}");
            assert!(close(u.std().unwrap(), std) && close(u.bound().unwrap(), 3f64.sqrt() * std), "{shape:?} {mode}");
            let n = Plan::new(&Scheme::kaiming_normal(a, mode, nonlinearity).unwrap(), shape).unwrap();
            assert!(close(n.std().unwrap(), std));
        }
    }
    // CPN's rule: kaiming_normal(fan_out, relu) is normal(0, sqrt(2 / (kh * kw * out))).
    let p = Plan::new(&Scheme::kaiming_normal(0.0, "fan_out", "relu").unwrap(), &[256, 128, 3, 3]).unwrap();
    assert!(close(p.std().unwrap(), (2.0f64 / (3.0 * 3.0 * 256.0)).sqrt()));
}

#[test]
fn calculate_gain_matches_pytorch() {
    for name in
        ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"]
    {
        assert_eq!(calculate_gain(name, None).unwrap(), 1.0);
    }
    assert_eq!(calculate_gain("tanh", None).unwrap(), 5.0 / 3.0);
    assert_eq!(calculate_gain("relu", Some(0.3)).unwrap(), 2f64.sqrt());
    assert_eq!(calculate_gain("selu", None).unwrap(), 0.75);
    assert_eq!(calculate_gain("leaky_relu", None).unwrap(), (2.0 / (1.0 + 0.01f64.powi(2))).sqrt());
    assert_eq!(calculate_gain("leaky_relu", Some(0.2)).unwrap(), (2.0 / (1.0 + 0.04f64)).sqrt());
}

/// The error of making `scheme` (its constructor checks what needs no shape) or of planning it
/// for `shape`.
fn error(scheme: nninit::Result<Scheme>, shape: &[usize]) -> String {
    scheme.and_then(|s| Plan::new(&s, shape)).unwrap_err().to_string()
}

#[test]
fn pytorch_errors() {
    let fans_error = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions";
    assert_eq!(error(Scheme::xavier_uniform(1.0), &[5]), fans_error);
    assert_eq!(error(Scheme::kaiming_normal(0.0, "fan_in", "relu"), &[5]), fans_error);
    assert_eq!(
        error(Scheme::kaiming_normal(0.0, "fan_avg", "relu"), &[5, 5]),
        "Mode fan_avg not supported, please use one of ['fan_in', 'fan_out']"
    );
    // PyTorch checks the mode before the dimensions, and reports the lowercased mode.
    assert_eq!(
        error(Scheme::kaiming_uniform(0.0, "FAN_AVG", "relu"), &[5]),
        "Mode fan_avg not supported, please use one of ['fan_in', 'fan_out']"
    );
    assert_eq!(error(Scheme::kaiming_uniform(0.0, "fan_in", "gelu"), &[5, 5]), "Unsupported nonlinearity gelu");
    assert_eq!(calculate_gain("swish", None).unwrap_err().to_string(), "Unsupported nonlinearity swish");
    assert_eq!(error(Ok(Scheme::eye()), &[3, 3, 3]), "Only tensors with 2 dimensions are supported");
    assert_eq!(error(Scheme::dirac(1), &[3, 3]), "Only tensors with 3, 4, or 5 dimensions are supported");
    assert_eq!(error(Scheme::dirac(4), &[6, 3, 3, 3]), "dim 0 must be divisible by groups");
    assert_eq!(error(Scheme::orthogonal(1.0), &[6]), "Only tensors with 2 or more dimensions are supported");
    assert_eq!(error(Scheme::sparse(0.5, 0.01), &[6, 3, 3]), "Only tensors with 2 dimensions are supported");
    assert_eq!(
        error(Scheme::uniform(1.0, 0.0), &[2]),
        "uniform_ expects to return a [from, to) range, but found from=1 > to=0"
    );
    assert_eq!(error(Scheme::normal(0.0, -1.0), &[2]), "normal expects std >= 0.0, but found std -1");
    // Where PyTorch silently misbehaves, nninit refuses.
    assert!(error(Scheme::sparse(1.5, 0.01), &[6, 3]).contains("sparsity must be in [0, 1]"));
    assert!(error(Scheme::sparse(-0.1, 0.01), &[6, 3]).contains("sparsity must be in [0, 1]"));
    assert!(error(Scheme::trunc_normal(0.0, 1.0, 2.0, -2.0), &[4]).contains("a < b"));
    assert!(error(Scheme::trunc_normal(0.0, 0.0, -2.0, 2.0), &[4]).contains("std > 0"));
    assert!(error(Scheme::trunc_normal(0.0, 1.0, 40.0, 50.0), &[4]).contains("more than 37 std"));
    assert!(error(Scheme::dirac(0), &[4, 4, 3]).contains("groups"));
    assert!(error(Scheme::xavier_normal(1.0), &[0, 0]).contains("division by zero"));
}

#[test]
fn zero_element_tensors_are_no_ops() {
    for init in [
        Scheme::kaiming_uniform(0.0, "fan_in", "relu").unwrap(),
        Scheme::kaiming_normal(0.0, "not-a-mode", "not-a-nonlinearity").unwrap(),
        Scheme::orthogonal(1.0).unwrap(),
        Scheme::normal(0.0, 1.0).unwrap(),
    ] {
        let plan = Plan::new(&init, &[0, 4]).unwrap();
        assert!(plan.is_no_op(), "{init:?}");
    }
    // Kaiming returns before checking dimensions, as PyTorch does.
    assert!(Plan::new(&Scheme::kaiming_normal(0.0, "fan_in", "relu").unwrap(), &[0]).unwrap().is_no_op());
}

#[test]
fn plan_json_has_exactly_the_keys_that_apply() {
    let p = Plan::new(&Scheme::kaiming_uniform(0.0, "fan_in", "relu").unwrap(), &[8, 4, 3, 3]).unwrap();
    let json = p.numbers_json();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["bound", "fan_in", "fan_out", "gain", "std"]);
    assert_eq!(json["fan_in"], 36);
    let p = Plan::new(&Scheme::orthogonal(2.0).unwrap(), &[8, 4]).unwrap();
    assert_eq!(p.numbers_json().to_string(), r#"{"gain":2.0}"#);
}
