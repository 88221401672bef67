//! Whole models: presets against torchvision / the issue's lists, the rule table, streams that
//! depend only on the name, pretrained merge, CPU vs GPU, files and the engine case.

mod common;

use std::collections::HashMap;
use std::path::Path;

use nninit::cpu::CpuBackend;
use nninit::io::{write_atomic, TensorData, TensorFile};
use nninit::model::{presets, Backend, ElementType, LayerKind, Model, ModelSpec, Pretrained, Rule, TensorSpec};
use nninit::{name_stream, Dtype, Error, Scheme};

fn cpu() -> CpuBackend {
    CpuBackend::new()
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn shape_of<'a>(spec: &'a ModelSpec, name: &str) -> &'a [usize] {
    &spec.tensors.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name} missing")).shape
}

#[test]
fn resnet50_matches_torchvision() {
    let spec = presets::resnet50();
    // torchvision.models.resnet50().state_dict(): 320 entries, 25,557,032 parameters.
    assert_eq!(spec.tensors.len(), 320);
    assert_eq!(spec.parameters(), Some(25_557_032));
    assert_eq!(spec.tensors.iter().filter(|t| t.kind == LayerKind::Conv).count(), 53);
    assert_eq!(spec.tensors.iter().filter(|t| t.param() == "num_batches_tracked").count(), 53);
    let first: Vec<&str> = spec.tensors[..8].iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        first,
        [
            "conv1.weight",
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "bn1.num_batches_tracked",
            "layer1.0.conv1.weight",
            "layer1.0.bn1.weight"
        ]
    );
    assert_eq!(shape_of(&spec, "conv1.weight"), [64, 3, 7, 7]);
    assert_eq!(shape_of(&spec, "layer1.0.downsample.0.weight"), [256, 64, 1, 1]);
    assert_eq!(shape_of(&spec, "layer2.0.conv2.weight"), [128, 128, 3, 3]);
    assert_eq!(shape_of(&spec, "layer3.5.conv3.weight"), [1024, 256, 1, 1]);
    assert_eq!(shape_of(&spec, "layer4.2.bn3.running_var"), [2048]);
    assert_eq!(shape_of(&spec, "bn1.num_batches_tracked"), [] as [usize; 0]);
    assert_eq!(shape_of(&spec, "fc.weight"), [1000, 2048]);
    assert_eq!(spec.tensors.last().unwrap().name, "fc.bias");
    assert!(spec.tensors.iter().all(|t| !t.name.contains("layer1.1.downsample")));
}

/// A refine bottleneck's parameters with input `c`, from the issue's list.
fn refine_bottleneck_params(c: u64) -> u64 {
    c * 128 + 2 * 128 + 128 * 128 * 9 + 2 * 128 + 128 * 256 + 2 * 256 + c * 256 + 2 * 256
}

#[test]
fn cpn50_matches_the_issue_list() {
    for num_class in [17u64, 14] {
        let spec = presets::cpn50(num_class as usize).unwrap();
        let nc = num_class;
        let trunk = 25_557_032 - 2048 * 1000 - 1000;
        let global = 256 * (2048 + 1024 + 512 + 256) + 4 * 2 * 256 // laterals
            + 3 * (256 * 256 + 256 + 2 * 256) // upsamples: conv with bias, BN
            + 4 * (256 * 256 + 2 * 256 + 256 * nc * 9 + 2 * nc); // predict
        let refine = 6 * refine_bottleneck_params(256) + refine_bottleneck_params(1024) + 256 * nc * 9 + 2 * nc;
        assert_eq!(spec.parameters(), Some(trunk + global + refine), "num_class {num_class}");
        // Entries: the trunk's 318, global 4 x 6 + 3 x 7 + 4 x 12, refine 7 bottlenecks x 24 + 6.
        assert_eq!(spec.tensors.len(), 318 + 24 + 21 + 48 + 7 * 24 + 6);
        assert!(spec.tensors[..318].iter().all(|t| t.name.starts_with("resnet.")));
        assert!(spec.tensors.iter().all(|t| !t.name.starts_with("resnet.fc")));
        assert_eq!(shape_of(&spec, "global_net.laterals.0.0.weight"), [256, 2048, 1, 1]);
        assert_eq!(shape_of(&spec, "global_net.laterals.3.0.weight"), [256, 256, 1, 1]);
        assert_eq!(shape_of(&spec, "global_net.upsamples.2.1.bias"), [256]);
        assert_eq!(shape_of(&spec, "global_net.predict.3.3.weight"), [nc as usize, 256, 3, 3]);
        assert_eq!(shape_of(&spec, "global_net.predict.3.5.running_mean"), [nc as usize]);
        assert_eq!(shape_of(&spec, "refine_net.cascade.0.2.downsample.0.weight"), [256, 256, 1, 1]);
        assert_eq!(shape_of(&spec, "refine_net.final_predict.0.conv1.weight"), [128, 1024, 1, 1]);
        assert_eq!(shape_of(&spec, "refine_net.final_predict.0.downsample.0.weight"), [256, 1024, 1, 1]);
        assert_eq!(shape_of(&spec, "refine_net.final_predict.1.weight"), [nc as usize, 256, 3, 3]);
        assert!(spec.tensors.iter().all(|t| !t.name.starts_with("refine_net.cascade.3")));
        assert!(spec.tensors.iter().all(|t| !t.name.contains("cascade.1.2")));
    }
    assert!(presets::cpn50(0).is_err());
}

#[test]
fn transformer_configs_have_the_published_sizes() {
    let count = |name: &str| presets::preset(name, None).unwrap().parameters().unwrap();
    assert_eq!(count("transformer-1b"), 1_235_814_400); // Llama-3.2-1B
    assert_eq!(count("transformer-7b"), 6_738_415_616); // Llama-2-7B
    let tiny = presets::preset("transformer-tiny", None).unwrap();
    assert_eq!(shape_of(&tiny, "model.layers.1.self_attn.k_proj.weight"), [32, 64]);
    assert_eq!(shape_of(&tiny, "lm_head.weight"), [512, 64]);
    let mut config = presets::TransformerConfig::named("transformer-tiny").unwrap();
    config.heads = 5;
    let e = presets::transformer("bad", &config).unwrap_err().to_string();
    assert!(e.contains("not divisible by heads"), "{e}");
}

#[test]
fn cpn_rules_give_the_stated_distributions() {
    let spec = presets::cpn50(17).unwrap();
    let plan = Model::new(&spec, 2024, Dtype::F32).unwrap();
    let tensors = plan.to_host_blocking(Backend::Cpu(&cpu())).unwrap();
    let mut convs = 0;
    for (t, bytes) in plan.tensors.iter().zip(&tensors) {
        let spec_t = spec.tensors.iter().find(|s| s.name == t.name).unwrap();
        match (spec_t.kind, spec_t.param()) {
            (LayerKind::Conv, "weight") => {
                // CPN: normal(0, sqrt(2 / (kh kw out_channels))).
                let s = t.plan.shape();
                let expected = (2.0 / (s[2] * s[3] * s[0]) as f64).sqrt();
                assert!((t.plan.std().unwrap() - expected).abs() < 1e-15 * expected);
                let x = f32s(bytes);
                let n = x.len() as f64;
                let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
                let std = (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
                // Six standard errors: of the mean, std/sqrt(n); of the std, about std/sqrt(2n).
                assert!(mean.abs() < 6.0 * expected / n.sqrt(), "{}: mean {mean}", t.name);
                assert!((std / expected - 1.0).abs() < 6.0 / (2.0 * n).sqrt(), "{}: std {std} vs {expected}", t.name);
                convs += 1;
            }
            (LayerKind::Conv, "bias") | (LayerKind::Batchnorm, "bias" | "running_mean") => {
                assert!(f32s(bytes).iter().all(|&v| v.to_bits() == 0), "{}", t.name)
            }
            (LayerKind::Batchnorm, "weight" | "running_var") => {
                assert!(f32s(bytes).iter().all(|&v| v == 1.0), "{}", t.name)
            }
            (LayerKind::Batchnorm, "num_batches_tracked") => {
                assert_eq!(t.element, ElementType::I64);
                assert_eq!(bytes, &0i64.to_le_bytes());
            }
            other => panic!("unexpected tensor {} {other:?}", t.name),
        }
    }
    assert_eq!(convs, 53 + 4 + 3 + 8 + 7 * 4 + 1);
}

#[test]
fn a_tensor_no_rule_covers_is_an_error_naming_it() {
    let mut spec = presets::resnet50();
    spec.rules.retain(|r| r.param.as_deref() != Some("running_var"));
    let e = Model::new(&spec, 0, Dtype::F32).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)));
    assert!(e.to_string().contains("no rule covers tensor bn1.running_var"), "{e}");
    // Scheme errors name the tensor too.
    spec.rules.insert(0, Rule::for_name("fc.weight", Scheme::eye()));
    spec.rules.insert(0, Rule::for_name("bn1.weight", Scheme::eye()));
    let e = Model::new(&spec, 0, Dtype::F32).unwrap_err().to_string();
    assert!(e.starts_with("bn1.weight: Only tensors with 2 dimensions"), "{e}");
    // i64 tensors take integral constants only.
    let mut spec = presets::resnet50();
    spec.rules.insert(0, Rule::for_any("num_batches_tracked", Scheme::normal(0.0, 1.0).unwrap()));
    let e = Model::new(&spec, 0, Dtype::F32).unwrap_err().to_string();
    assert!(e.contains("bn1.num_batches_tracked: an i64 tensor takes zeros, ones or an integral constant"), "{e}");
    // A padding row must exist, as PyTorch asserts.
    let mut spec = presets::resnet50();
    spec.tensors.iter_mut().find(|t| t.name == "fc.weight").unwrap().padding_idx = Some(1000);
    let e = Model::new(&spec, 0, Dtype::F32).unwrap_err().to_string();
    assert!(e.starts_with("fc.weight: Padding_idx must be within num_embeddings"), "{e}");
}

#[test]
fn name_streams_are_fnv1a64() {
    // FNV-1a 64 test vectors (Fowler, Noll, Vo; draft-eastlake-fnv).
    assert_eq!(name_stream(""), 0xcbf29ce484222325);
    assert_eq!(name_stream("a"), 0xaf63dc4c8601ec8c);
    assert_eq!(name_stream("foobar"), 0x85944171f73967e8);
}

/// Each tensor's bytes by name.
fn by_name(plan: &Model, backend: Backend<'_>) -> HashMap<String, Vec<u8>> {
    plan.tensors.iter().map(|t| t.name.clone()).zip(plan.to_host_blocking(backend).unwrap()).collect()
}

#[test]
fn values_depend_only_on_seed_name_shape_and_scheme() {
    let spec = presets::preset("transformer-tiny", None).unwrap();
    let whole = by_name(&Model::new(&spec, 9, Dtype::F32).unwrap(), Backend::Cpu(&cpu()));

    let mut reversed = spec.clone();
    reversed.tensors.reverse();
    let mut extended = spec.clone();
    extended.tensors.insert(3, TensorSpec::new("extra.weight", &[100, 64], LayerKind::Linear));
    let subset = spec.subset(&["*.mlp.*".into(), "model.norm.weight".into()]);
    assert_eq!(subset.tensors.len(), 2 * 3 + 1);
    for variant in [reversed, extended, subset] {
        let values = by_name(&Model::new(&variant, 9, Dtype::F32).unwrap(), Backend::Cpu(&cpu()));
        for (name, bytes) in &values {
            if let Some(expected) = whole.get(name) {
                assert_eq!(bytes, expected, "{name}");
            }
        }
    }
    // Another seed changes every random tensor.
    let other = by_name(&Model::new(&spec, 10, Dtype::F32).unwrap(), Backend::Cpu(&cpu()));
    assert_ne!(other["model.embed_tokens.weight"], whole["model.embed_tokens.weight"]);
    assert_eq!(other["model.norm.weight"], whole["model.norm.weight"]);
}

/// A small model with every kind of work: element-wise schemes, orthogonal, sparse, eye, a
/// fixed-dtype tensor, an i64 buffer, and odd sizes.
fn mixed_spec() -> ModelSpec {
    let mut t = vec![
        TensorSpec::new("embed.weight", &[101, 33], LayerKind::Embedding),
        TensorSpec::new("conv.weight", &[17, 5, 3, 3], LayerKind::Conv),
        TensorSpec::new("conv.bias", &[17], LayerKind::Conv),
        TensorSpec::new("bn.weight", &[17], LayerKind::Batchnorm),
        TensorSpec::new("bn.num_batches_tracked", &[], LayerKind::Batchnorm),
        TensorSpec::new("fc.weight", &[29, 31], LayerKind::Linear),
        TensorSpec::new("rnn.weight", &[24, 12], LayerKind::Other),
        TensorSpec::new("sparse.weight", &[40, 23], LayerKind::Other),
        TensorSpec::new("eye.weight", &[9, 13], LayerKind::Other),
        TensorSpec::new("head.weight", &[1000, 7], LayerKind::Linear),
        TensorSpec::new("norm.weight", &[33], LayerKind::Norm),
    ];
    t[4].dtype = Some(ElementType::I64);
    t[6].scheme = Some(Scheme::orthogonal(1.0).unwrap());
    t[7].scheme = Some(Scheme::sparse(0.5, 0.01).unwrap());
    t[8].scheme = Some(Scheme::eye());
    t[9].scheme = Some(Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04).unwrap());
    t[10].dtype = Some(ElementType::Float(Dtype::F32));
    // Zero rows (padding_idx) through every path: drawn, orthogonal, sparse, constant.
    t[0].padding_idx = Some(50);
    t[6].padding_idx = Some(23);
    t[7].padding_idx = Some(0);
    t[8].padding_idx = Some(4);
    let rules = vec![
        Rule::for_param(LayerKind::Embedding, "weight", Scheme::normal(0.0, 1.0).unwrap()),
        Rule::for_param(LayerKind::Conv, "weight", Scheme::kaiming_normal(0.0, "fan_out", "relu").unwrap()),
        Rule::for_param(
            LayerKind::Linear,
            "weight",
            Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu").unwrap(),
        ),
        Rule::for_any("bias", Scheme::uniform(-0.1, 0.1).unwrap()),
        Rule::for_any("num_batches_tracked", Scheme::constant(7.0).unwrap()),
        Rule { kind: None, param: None, name: None, scheme: Scheme::ones() },
    ];
    ModelSpec { name: "mixed".into(), tensors: t, rules }
}

/// GPU vs CPU: bit-identical, every tensor.
fn assert_close(plan: &Model, gpu: &[Vec<u8>], cpu: &[Vec<u8>], adapter: &str) {
    for ((t, g), c) in plan.tensors.iter().zip(gpu).zip(cpu) {
        assert!(g == c, "{adapter} {} differs from the CPU", t.name);
    }
}

#[test]
fn gpu_and_cpu_give_the_same_model_in_any_piece_size() {
    for dtype in [Dtype::F32, Dtype::Bf16] {
        let plan = Model::new(&mixed_spec(), 77, dtype).unwrap();
        let cpu_values = plan.to_host_blocking(Backend::Cpu(&cpu())).unwrap();
        assert_eq!(cpu_values[4], 7i64.to_le_bytes());
        assert_eq!(plan.tensors[10].element, ElementType::Float(Dtype::F32));
        for ctx in common::contexts() {
            let adapter = nninit::gpu::describe(&ctx.info);
            // Whole batches, and pieces small enough to split tensors over many batches (both
            // slots in turn, odd 16-bit pieces at the ends of tensors).
            for piece_bytes in [64 << 20, 1000] {
                let mut gpu_values: Vec<Vec<u8>> = vec![Vec::new(); plan.tensors.len()];
                let mut order = Vec::new();
                plan.produce_blocking(Backend::Gpu(&ctx.filler), piece_bytes, &mut |tensor, bytes| {
                    assert!(bytes.len() as u64 <= piece_bytes.max(8));
                    order.push(tensor);
                    gpu_values[tensor].extend_from_slice(bytes);
                    Ok(())
                })
                .unwrap();
                assert!(order.windows(2).all(|w| w[0] <= w[1]), "pieces come in model order");
                assert_close(&plan, &gpu_values, &cpu_values, &adapter);
            }
        }
        // CPU pieces of any size give the same bytes.
        let mut small: Vec<Vec<u8>> = vec![Vec::new(); plan.tensors.len()];
        plan.produce_blocking(Backend::Cpu(&cpu()), 1000, &mut |tensor, bytes| {
            small[tensor].extend_from_slice(bytes);
            Ok(())
        })
        .unwrap();
        assert_eq!(small, cpu_values);
    }
}

#[test]
fn model_files_round_trip_with_their_schemes() {
    let plan = Model::new(&mixed_spec(), 5, Dtype::F16).unwrap();
    let path = common::scratch_file("mixed.safetensors");
    let summary = plan
        .write_safetensors_blocking(
            &nninit::model::Destination::File(path.to_path_buf()),
            Backend::Cpu(&cpu()),
            &HashMap::new(),
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!(summary.bytes, plan.bytes());
    let file = TensorFile::open(&path).unwrap();
    let values = plan.to_host_blocking(Backend::Cpu(&cpu())).unwrap();
    let names: Vec<&str> = file.entries().iter().map(|e| e.name.as_str()).collect();
    let expected: Vec<&str> = plan.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, expected, "the file keeps the model's order");
    for (t, v) in plan.tensors.iter().zip(&values) {
        let entry = file.entry(&t.name).unwrap();
        assert_eq!(entry.shape, t.shape());
        assert_eq!(entry.dtype, t.element.safetensors());
        assert_eq!(&file.read_all(entry).unwrap(), v, "{}", t.name);
        let mut recorded: serde_json::Value =
            serde_json::from_str(&file.metadata()[&format!("nninit.tensor.{}", t.name)]).unwrap();
        assert_eq!(recorded["stream"].as_u64(), Some(name_stream(&t.name)));
        // The scheme's own keys beside the stream and the zero row: a scheme refuses keys it
        // does not know.
        recorded.as_object_mut().unwrap().remove("stream");
        let zero_row = recorded.as_object_mut().unwrap().remove("zero_row");
        assert_eq!(zero_row.and_then(|r| r.as_u64()), t.zero_row, "{}", t.name);
        let scheme: Scheme = serde_json::from_value(recorded).unwrap();
        assert_eq!(scheme, t.scheme);
        // Every check inspect runs passes, zero rows included (each checked, not tested by KS).
        let report = nninit::inspect::inspect(&file, entry).unwrap();
        assert!(report.passed(), "{}: {:?}", t.name, report.checks);
        let zero_checks = report.checks.iter().filter(|c| matches!(c, nninit::inspect::Check::ZeroRow { .. })).count();
        assert_eq!(zero_checks, usize::from(t.zero_row.is_some()), "{}", t.name);
    }
    assert_eq!(file.metadata()["nninit.seed"], "5");
    assert_eq!(file.metadata()["nninit.stream_version"], "1");
    // The same plan gives the same file, byte for byte.
    let again = common::scratch_file("mixed-again.safetensors");
    write_on_cpu(&plan, &again);
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
}

/// Writes `plan` to the file `path` from the CPU backend.
fn write_on_cpu(plan: &Model, path: &Path) {
    let to = nninit::model::Destination::File(path.to_path_buf());
    plan.write_safetensors_blocking(&to, Backend::Cpu(&cpu()), &HashMap::new(), &mut |_, _| {}).unwrap();
}

/// A file is written in pieces of a few MiB, each made in the buffer the writer thread then
/// writes (no copy): pieces that cut a tensor, and a zero row, land where the in-memory run
/// (one piece a tensor) puts them.
#[test]
fn files_written_in_pieces_equal_the_model_in_memory() {
    let mut spec = mixed_spec();
    // 2500 x 1100 f32 is 11 MB: a piece of 8 MiB and the rest, and row 1906 holds the piece's
    // end (element 2^21 = 1906 * 1100 + 772). In bf16 it is one piece, and 3000 x 1500 two.
    let mut big = TensorSpec::new("big.weight", &[2500, 1100], LayerKind::Embedding);
    big.padding_idx = Some(1906);
    spec.tensors.insert(3, big);
    spec.tensors.push(TensorSpec::new("tail.weight", &[3000, 1500], LayerKind::Linear));
    for dtype in [Dtype::F32, Dtype::Bf16] {
        let plan = Model::new(&spec, 9, dtype).unwrap();
        let path = common::scratch_file("pieces.safetensors");
        write_on_cpu(&plan, &path);
        let file = TensorFile::open(&path).unwrap();
        let values = plan.to_host_blocking(Backend::Cpu(&cpu())).unwrap();
        for (t, v) in plan.tensors.iter().zip(&values) {
            assert_eq!(&file.read_all(file.entry(&t.name).unwrap()).unwrap(), v, "{} {dtype:?}", t.name);
        }
        let big = &values[3];
        let row = 1906 * 1100 * dtype.size() as usize;
        assert!(big[row..row + 1100 * dtype.size() as usize].iter().all(|&b| b == 0));
        assert!(big[row - 4..row].iter().any(|&b| b != 0));
    }
}

/// One fill written through `write_fill_blocking` in pieces: a range that starts inside a
/// 16-bit word's pair and crosses piece boundaries, equal to the backend's fill in memory.
#[test]
fn a_fill_written_in_pieces_equals_the_fill_in_memory() {
    use nninit::model::{write_fill_blocking, Destination, FillOutput};
    use nninit::{Fill, Region, Stream};
    let fill = Fill::new(&Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04).unwrap(), &[4100, 2100], Stream::new(3, 1))
        .unwrap()
        .with_zero_row(2000)
        .unwrap();
    for (dtype, region) in [(Dtype::F32, Region::All), (Dtype::Bf16, Region::Elements(1..8_600_001))] {
        let path = common::scratch_file("fill-pieces.safetensors");
        let tensor = FillOutput { name: "w", fill: &fill, region: &region, dtype };
        write_fill_blocking(
            &Destination::File(path.to_path_buf()),
            &tensor,
            Backend::Cpu(&cpu()),
            &HashMap::new(),
            &mut |_, _| {},
        )
        .unwrap();
        let file = TensorFile::open(&path).unwrap();
        let got = file.read_all(file.entry("w").unwrap()).unwrap();
        let mut want = vec![0u8; got.len()];
        cpu().fill(&fill, &region, dtype, &mut want).unwrap();
        assert!(got.len() > 16 << 20, "{dtype:?}: {} bytes: more than two pieces", got.len());
        assert!(got == want, "{dtype:?} {region:?}");
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn pretrained_merge_copies_counts_and_checks_shapes() {
    // A "pretrained ResNet-50" holding a few trunk tensors, one in bf16, and keys CPN lacks.
    let conv1: Vec<f32> = (0..64 * 3 * 7 * 7).map(|i| (i as f32 * 0.37).sin()).collect();
    let bn_var: Vec<u8> = (0..64u16).flat_map(|i| half::bf16::from_f32(1.0 + i as f32 / 8.0).to_le_bytes()).collect();
    let fc = vec![0.5f32; 10];
    let count = 41i64.to_le_bytes();
    let path = common::scratch_file("pretrained.safetensors");
    let tensors = [
        TensorData { name: "conv1.weight", dtype: Dtype::F32, shape: &[64, 3, 7, 7], data: &f32_bytes(&conv1) },
        TensorData { name: "bn1.running_var", dtype: Dtype::Bf16, shape: &[64], data: &bn_var },
        TensorData { name: "fc.bias", dtype: Dtype::F32, shape: &[10], data: &f32_bytes(&fc) },
    ];
    write_atomic(&path, &tensors, &HashMap::new()).unwrap();
    // write_atomic writes floats only; add the i64 buffer with the streaming writer.
    let int_path = common::scratch_file("pretrained-int.safetensors");
    let header = nninit::io::TensorHeader {
        name: "bn1.num_batches_tracked".into(),
        dtype: safetensors::Dtype::I64,
        shape: vec![],
    };
    let mut writer = nninit::io::TensorWriter::create(&int_path, &[header], &HashMap::new()).unwrap();
    writer.write(&count).unwrap();
    writer.finish().unwrap();

    let spec = presets::cpn50(17).unwrap();
    let fresh = Model::new(&spec, 1, Dtype::F32).unwrap();
    let mut plan = fresh.clone();
    let files = [
        Pretrained::parse(&format!("resnet.={}", path.display())),
        Pretrained { prefix: "resnet.".into(), path: int_path.to_path_buf() },
    ];
    let report = plan.merge_pretrained(&files).unwrap();
    assert_eq!((report.loaded, report.initialized), (3, spec.tensors.len() - 3));
    assert_eq!((report.files[0].keys, report.files[0].loaded), (3, 2));
    assert_eq!(report.files[0].ignored, ["fc.bias"]);
    assert_eq!((report.files[1].loaded, report.files[1].ignored.len()), (1, 0));

    let merged = by_name(&plan, Backend::Cpu(&cpu()));
    let initialized = by_name(&fresh, Backend::Cpu(&cpu()));
    assert_eq!(merged["resnet.conv1.weight"], f32_bytes(&conv1));
    let var: Vec<f32> = (0..64).map(|i| 1.0 + i as f32 / 8.0).collect();
    assert_eq!(merged["resnet.bn1.running_var"], f32_bytes(&var), "bf16 widened exactly");
    assert_eq!(merged["resnet.bn1.num_batches_tracked"], count);
    for (name, bytes) in &merged {
        if !matches!(name.as_str(), "resnet.conv1.weight" | "resnet.bn1.running_var" | "resnet.bn1.num_batches_tracked")
        {
            assert_eq!(bytes, &initialized[name], "{name} keeps its initialization");
        }
    }
    // The GPU path copies pretrained tensors the same way.
    for ctx in common::contexts() {
        assert_eq!(plan.to_host_blocking(Backend::Gpu(&ctx.filler)).unwrap()[0], f32_bytes(&conv1));
    }
    // Into bf16: converted with round-to-nearest-even.
    let mut half_plan = Model::new(&spec, 1, Dtype::Bf16).unwrap();
    half_plan.merge_pretrained(&files[..1]).unwrap();
    let expected: Vec<u8> = conv1.iter().flat_map(|&v| half::bf16::from_f32(v).to_le_bytes()).collect();
    assert_eq!(half_plan.to_host_blocking(Backend::Cpu(&cpu())).unwrap()[0], expected);

    // Without the prefix nothing matches the CPN names; a shape mismatch is an error naming it.
    let mut unprefixed = fresh.clone();
    let report = unprefixed.merge_pretrained(&[Pretrained::parse(&path.display().to_string())]).unwrap();
    assert_eq!((report.loaded, report.files[0].ignored.len()), (0, 3));
    let wrong = common::scratch_file("wrong.safetensors");
    let tensor =
        TensorData { name: "conv1.weight", dtype: Dtype::F32, shape: &[64, 3, 3, 3], data: &[0u8; 64 * 27 * 4] };
    write_atomic(&wrong, &[tensor], &HashMap::new()).unwrap();
    let e = fresh.clone().merge_pretrained(&[Pretrained::parse(&format!("resnet.={}", wrong.display()))]).unwrap_err();
    assert!(e.to_string().starts_with("resnet.conv1.weight: the model's shape is [64, 3, 7, 7]"), "{e}");
    // A float tensor where the model keeps integers is an error too.
    let float_count = common::scratch_file("float-count.safetensors");
    let tensor = TensorData { name: "bn1.num_batches_tracked", dtype: Dtype::F32, shape: &[], data: &[0u8; 4] };
    write_atomic(&float_count, &[tensor], &HashMap::new()).unwrap();
    let e = fresh.clone().merge_pretrained(&[Pretrained::parse(&format!("resnet.={}", float_count.display()))]);
    assert!(e.unwrap_err().to_string().contains("resnet.bn1.num_batches_tracked: the model stores I64"));
}

#[test]
fn the_engine_case_fills_an_arena_in_one_submission() {
    let plan = Model::new(&mixed_spec(), 31, Dtype::Bf16).unwrap();
    let expected = plan.to_host_blocking(Backend::Cpu(&cpu())).unwrap();
    let layout = plan.arena_layout(256);
    for ctx in common::contexts() {
        let words = (layout.size / 4) as usize;
        let arena = common::guarded_buffer(ctx, words);
        let targets: Vec<_> = layout
            .offsets
            .iter()
            .map(|&byte_offset| nninit::model::TensorTarget { buffer: &arena, byte_offset })
            .collect();
        common::record_and_wait(ctx, |encoder| plan.record_into(&ctx.filler, encoder, &targets)).unwrap();
        let all = nninit::gpu::read_buffer_blocking(&ctx.device, &ctx.queue, &arena, 0..layout.size).unwrap();
        let guard = common::GUARD.to_le_bytes();
        let mut gpu = Vec::new();
        let mut end_of_previous = 0usize;
        for (t, &offset) in plan.tensors.iter().zip(&layout.offsets) {
            let (start, end) = (offset as usize, (offset + t.bytes()) as usize);
            for (i, b) in all[end_of_previous..start].iter().enumerate() {
                assert_eq!(*b, guard[(end_of_previous + i) % 4], "padding before {} was written", t.name);
            }
            gpu.push(all[start..end].to_vec());
            end_of_previous = end;
        }
        assert_close(&plan, &gpu, &expected, &nninit::gpu::describe(&ctx.info));
    }
}

#[test]
fn an_arena_without_copy_dst_is_a_typed_error_for_i64_counters() {
    // The i64 counters are written with Queue::write_buffer, which needs COPY_DST: without it,
    // wgpu would panic (its default error handler); record_into says so instead.
    let plan = Model::new(&mixed_spec(), 31, Dtype::F32).unwrap();
    let layout = plan.arena_layout(256);
    for ctx in common::contexts() {
        let arena = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("storage only"),
            size: layout.size,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let targets: Vec<_> = layout
            .offsets
            .iter()
            .map(|&byte_offset| nninit::model::TensorTarget { buffer: &arena, byte_offset })
            .collect();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        let e = plan.record_into(&ctx.filler, &mut encoder, &targets).unwrap_err();
        assert!(matches!(e, nninit::Error::InvalidTarget(_)), "{e}");
        assert!(e.to_string().contains("bn.num_batches_tracked") && e.to_string().contains("COPY_DST"), "{e}");
    }
}

#[test]
fn the_docs_spec_example_parses_and_plans() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/models.md")).unwrap();
    let json = readme.split("```json\n").nth(1).unwrap().split("```").next().unwrap();
    let spec: ModelSpec = serde_json::from_str(json).unwrap();
    let plan = Model::new(&spec, 0, Dtype::F32).unwrap();
    assert_eq!(plan.tensors.len(), 3);
    // kaiming_uniform with PyTorch's defaults filled in: mode fan_in, nonlinearity leaky_relu.
    assert_eq!(plan.tensors[0].scheme, Scheme::kaiming_uniform(5f64.sqrt(), "fan_in", "leaky_relu").unwrap());
    assert!((plan.tensors[0].plan.bound().unwrap() - 1.0 / 784f64.sqrt()).abs() < 1e-9);
    assert_eq!(plan.tensors[2].element, ElementType::I64);
}
