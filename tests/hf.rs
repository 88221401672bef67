//! Hugging Face layouts and conventions: sharded checkpoints with an index, `config.json` of the
//! Llama family, specs shaped like a checkpoint, and fills streamed in bounded pieces.

mod common;

use common::{fails, ok};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output};

use nninit::cpu::CpuBackend;
use nninit::io::{TensorFile, INDEX_FILE};
use nninit::model::{spec_like, Backend, Destination, HfConfig, LayerKind, Model};
use nninit::{Dtype, Fill, Region, Scheme, Shard, Stream};

fn nninit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nninit")).args(args).output().expect("run nninit")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every tensor of a file or checkpoint directory: name -> (dtype, shape, bytes).
fn tensors(path: &Path) -> BTreeMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)> {
    let checkpoint = nninit::io::Checkpoint::open(path).unwrap();
    let mut out = BTreeMap::new();
    for opened in checkpoint.files() {
        for e in opened.entries() {
            let data = opened.read_all(e).unwrap();
            assert!(out.insert(e.name.clone(), (e.dtype, e.shape.clone(), data)).is_none(), "{} twice", e.name);
        }
    }
    out
}

/// A small Llama config as `LlamaConfig(...).save_pretrained()` writes it (keys nninit ignores
/// included).
fn llama_config(extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
        "bos_token_id": 1, "eos_token_id": 2, "head_dim": 16, "hidden_act": "silu", "hidden_size": 64,
        "initializer_range": 0.02, "intermediate_size": 176, "max_position_embeddings": 2048,
        "mlp_bias": false, "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2,
        "num_key_value_heads": 2, "pretraining_tp": 1, "rms_norm_eps": 1e-06, "rope_scaling": null,
        "rope_theta": 10000.0, "tie_word_embeddings": false, "torch_dtype": "float32",
        "transformers_version": "4.46.0", "use_cache": true, "vocab_size": 1000
    });
    for (k, v) in extra {
        config[*k] = v.clone();
    }
    config
}

fn write_json(path: &Path, json: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
}

#[test]
fn shards_hold_the_unsharded_files_bytes_with_an_index_and_format_pt() {
    let scratch = common::scratch("hf-shards");
    let dir = scratch.path();
    let config = dir.join("config.json");
    write_json(&config, &llama_config(&[]));
    let single = dir.join("single.safetensors");
    ok(&nninit(&["init", "--model", s(&config), "--seed", "9", "--device", "cpu", "--out", s(&single)]));
    let sharded = dir.join("sharded");
    let max = 100_000u64;
    ok(&nninit(&["init", "--model", s(&config), "--seed", "9", "--max-shard-size", "100KB", "--out", s(&sharded)]));
    let whole = tensors(&single);
    assert_eq!(tensors(&sharded), whole, "values differ between the sharded and single outputs");
    // The index: total_size is the bytes of tensor data; every tensor is mapped to its file.
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(sharded.join(INDEX_FILE)).unwrap()).unwrap();
    let total: usize = whole.values().map(|t| t.2.len()).sum();
    assert_eq!(index["metadata"]["total_size"], total);
    let map = index["weight_map"].as_object().unwrap();
    assert_eq!(map.len(), whole.len());
    let mut files: Vec<&str> = map.values().map(|v| v.as_str().unwrap()).collect();
    files.sort();
    files.dedup();
    let count = files.len();
    assert!(count > 2, "{count} shards");
    for (i, name) in files.iter().enumerate() {
        assert_eq!(*name, format!("model-{:05}-of-{count:05}.safetensors", i + 1));
        let file = TensorFile::open(&sharded.join(name)).unwrap();
        assert_eq!(file.metadata()["format"], "pt", "{name}");
        let bytes: u64 = file.entries().iter().map(|e| e.bytes.end - e.bytes.start).sum();
        // Only a tensor larger than the limit makes a shard larger than the limit, alone.
        assert!(bytes <= max || file.entries().len() == 1, "{name}: {bytes} bytes");
        for e in file.entries() {
            assert_eq!(map[&e.name], *name);
        }
    }
    // The directory holds the shards and the index, nothing else.
    assert_eq!(std::fs::read_dir(&sharded).unwrap().count(), count + 1);
    assert_eq!(TensorFile::open(&single).unwrap().metadata()["format"], "pt");
    // One shard is model.safetensors alone, as save_pretrained writes it.
    let one = dir.join("one");
    ok(&nninit(&["init", "--model", s(&config), "--seed", "9", "--max-shard-size", "5GB", "--out", s(&one)]));
    let names: Vec<_> = std::fs::read_dir(&one).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["model.safetensors"]);
    assert_eq!(tensors(&one), whole);
}

#[test]
fn llama_family_configs_give_transformers_names_shapes_and_init() {
    let count = |config: &serde_json::Value| -> (HashMap<String, Vec<usize>>, nninit::model::ModelSpec) {
        let spec = HfConfig::from_json(config).unwrap().spec().unwrap();
        (spec.tensors.iter().map(|t| (t.name.clone(), t.shape.clone())).collect(), spec)
    };
    // Llama: grouped-query heads (kv 2 of 4, head_dim 16), untied, no biases.
    let (shapes, spec) = count(&llama_config(&[]));
    let (h, v, i, q, kv) = (64, 1000, 176, 64, 32);
    assert_eq!(shapes["model.embed_tokens.weight"], [v, h]);
    assert_eq!(shapes["model.layers.1.self_attn.q_proj.weight"], [q, h]);
    assert_eq!(shapes["model.layers.1.self_attn.k_proj.weight"], [kv, h]);
    assert_eq!(shapes["model.layers.1.self_attn.v_proj.weight"], [kv, h]);
    assert_eq!(shapes["model.layers.1.self_attn.o_proj.weight"], [h, q]);
    assert_eq!(shapes["model.layers.0.mlp.gate_proj.weight"], [i, h]);
    assert_eq!(shapes["model.layers.0.mlp.down_proj.weight"], [h, i]);
    assert_eq!(shapes["model.layers.0.post_attention_layernorm.weight"], [h]);
    assert_eq!(shapes["lm_head.weight"], [v, h]);
    // LlamaForCausalLM's parameter count, by its formula.
    let per_layer = h * q + 2 * h * kv + q * h + 3 * h * i + 2 * h;
    assert_eq!(spec.parameters(), Some((2 * v * h + 2 * per_layer + h) as u64));
    assert_eq!(shapes.len(), 1 + 2 * 9 + 1 + 1);
    // Biases where llama's config asks; head_dim from hidden/heads when absent; tied embeddings.
    let (shapes, _) = count(&llama_config(&[
        ("attention_bias", true.into()),
        ("mlp_bias", true.into()),
        ("tie_word_embeddings", true.into()),
        ("head_dim", serde_json::Value::Null),
    ]));
    for p in ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.up_proj"] {
        assert!(shapes.contains_key(&format!("model.layers.0.{p}.bias")), "{p}");
    }
    assert!(!shapes.contains_key("lm_head.weight"));
    // Qwen2: q/k/v biases always, o_proj none (its config has no attention_bias).
    let (shapes, _) = count(&llama_config(&[("model_type", "qwen2".into()), ("attention_bias", false.into())]));
    assert_eq!(shapes["model.layers.0.self_attn.k_proj.bias"], [kv]);
    assert!(!shapes.contains_key("model.layers.0.self_attn.o_proj.bias"));
    // Mistral: no biases even when a llama key says so.
    let (shapes, _) = count(&llama_config(&[("model_type", "mistral".into()), ("attention_bias", true.into())]));
    assert!(!shapes.keys().any(|k| k.ends_with(".bias")));
    // Init: transformers' _init_weights (normal(0, initializer_range), norms ones).
    let config = llama_config(&[("initializer_range", 0.05.into())]);
    let model = Model::new(&HfConfig::from_json(&config).unwrap().spec().unwrap(), 1, Dtype::F32).unwrap();
    let scheme = |name: &str| model.tensors.iter().find(|t| t.name == name).unwrap().scheme.to_string();
    assert_eq!(scheme("model.layers.0.self_attn.o_proj.weight"), r#"{"scheme":"normal","mean":0.0,"std":0.05}"#);
    assert_eq!(scheme("model.embed_tokens.weight"), r#"{"scheme":"normal","mean":0.0,"std":0.05}"#);
    assert_eq!(scheme("model.norm.weight"), r#"{"scheme":"ones"}"#);
    // Errors: the supported types listed; missing and bad keys named.
    let err = |config: serde_json::Value| HfConfig::from_json(&config).unwrap_err().to_string();
    assert!(err(llama_config(&[("model_type", "gpt2".into())])).contains("llama, mistral, qwen2"));
    let mut missing = llama_config(&[]);
    missing.as_object_mut().unwrap().remove("hidden_size");
    assert!(err(missing).contains("hidden_size"));
    assert!(err(llama_config(&[("num_key_value_heads", 3.into())])).contains("num_key_value_heads"));
    assert!(err(llama_config(&[("vocab_size", 0.into())])).contains("vocab_size"));
    assert!(err(serde_json::json!([1, 2])).contains("object"));
}

#[test]
fn a_config_json_on_the_command_line_and_its_errors() {
    let scratch = common::scratch("hf-config");
    let dir = scratch.path();
    let config = dir.join("config.json");
    write_json(&config, &llama_config(&[("torch_dtype", "bfloat16".into())]));
    let out = dir.join("m.safetensors");
    let json = ok(&nninit(&["init", "--model", s(&config), "--seed", "2", "--out", s(&out), "--json"]));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["dtype"], "bf16", "the config's torch_dtype is the default");
    let file = TensorFile::open(&out).unwrap();
    assert_eq!(file.entry("model.norm.weight").unwrap().dtype, safetensors::Dtype::BF16);
    let bad = dir.join("bad.json");
    write_json(&bad, &serde_json::json!({"model_type": "bert", "hidden_size": 8}));
    fails(&nninit(&["init", "--model", s(&bad), "--out", s(&dir.join("x.safetensors"))]), "llama, mistral, qwen2");
    std::fs::write(&bad, b"{not json").unwrap();
    fails(&nninit(&["init", "--model", s(&bad), "--out", s(&dir.join("x.safetensors"))]), "bad.json");
    // A dtype nninit cannot write is refused, naming the key and the file, not written as f32;
    // transformers' "auto" and PyTorch's "torch." spelling are understood.
    for (dtype, says) in [
        (serde_json::json!("float64"), "torch_dtype \"float64\" cannot be written by nninit"),
        (serde_json::json!(5), "torch_dtype must be a dtype's name"),
        (serde_json::json!("int8"), "torch_dtype \"int8\""),
    ] {
        write_json(&bad, &llama_config(&[("torch_dtype", dtype)]));
        let run = nninit(&["init", "--model", s(&bad), "--out", s(&dir.join("x.safetensors"))]);
        fails(&run, says);
        fails(&run, "bad.json");
    }
    for (dtype, expected) in [("auto", "f32"), ("torch.float16", "f16")] {
        write_json(&bad, &llama_config(&[("torch_dtype", dtype.into())]));
        let json = ok(&nninit(&["init", "--model", s(&bad), "--seed", "1", "--out", s(&out), "--json"]));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap()["dtype"], expected, "{dtype}");
    }
    // An std beyond float32's range names the key and the file, not "out of bounds for Float".
    write_json(&bad, &llama_config(&[("initializer_range", 1e39.into())]));
    let run = nninit(&["init", "--model", s(&bad), "--out", s(&dir.join("x.safetensors"))]);
    fails(&run, "initializer_range must be a number from 0 to 3.4028235e38 (a float32 std), not 1e+39");
    fails(&run, "bad.json");
    assert!(!dir.join("x.safetensors").exists());
}

/// transformers' `nn.Embedding(vocab_size, hidden_size, padding_idx=pad_token_id)`: the row of
/// `pad_token_id` is zeros, everything else is what the same config without it gives, on the CPU
/// and on every adapter; a negative id counts from the end; one out of range is PyTorch's error;
/// `inspect --check` checks the row and leaves it out of the KS test.
#[test]
fn pad_token_id_zeroes_its_embedding_row_as_transformers_does() {
    let scratch = common::scratch("hf-pad");
    let dir = scratch.path();
    let (plain, padded, negative) = (dir.join("plain.json"), dir.join("padded.json"), dir.join("negative.json"));
    write_json(&plain, &llama_config(&[("pad_token_id", serde_json::Value::Null)]));
    write_json(&padded, &llama_config(&[("pad_token_id", 3.into()), ("torch_dtype", "bfloat16".into())]));
    write_json(&negative, &llama_config(&[("pad_token_id", (-997).into()), ("torch_dtype", "bfloat16".into())]));
    let run = |config: &Path, out: &str, extra: &[&str]| {
        let out = dir.join(out);
        ok(&nninit(
            &[&["init", "--model", s(config), "--seed", "5", "--dtype", "bf16", "--out", s(&out)], extra].concat(),
        ));
        tensors(&out)
    };
    let expected = {
        let mut t = run(&plain, "plain.safetensors", &[]);
        let row = 3 * 64 * 2..4 * 64 * 2;
        t.get_mut("model.embed_tokens.weight").unwrap().2[row.clone()].fill(0);
        assert!(t["lm_head.weight"].2[row].iter().any(|&b| b != 0), "lm_head keeps its row");
        t
    };
    assert!(run(&padded, "cpu.safetensors", &[]) == expected);
    assert!(run(&negative, "negative.safetensors", &[]) == expected, "-997 of 1000 is row 3");
    for ctx in common::contexts() {
        let backend = format!("{:?}", ctx.info.backend).to_lowercase();
        let got = run(&padded, &format!("{backend}.safetensors"), &["--device", "gpu", "--adapter", &backend]);
        assert!(got == expected, "{backend}");
    }
    // The spec it prints says so, and a run of that spec file is the same run.
    let spec = ok(&nninit(&["init", "--model", s(&padded), "--print-spec"]));
    assert!(spec.contains(r#""padding_idx": 3"#), "{spec}");
    let spec_file = dir.join("spec.json");
    std::fs::write(&spec_file, &spec).unwrap();
    assert!(run(&spec_file, "spec.safetensors", &[]) == expected);
    let inspected = ok(&nninit(&["inspect", s(&dir.join("cpu.safetensors")), "--check"]));
    assert!(inspected.contains("zero row 3 (padding_idx): 0 of 64 values are not zero: ok"), "{inspected}");
    assert!(!inspected.contains("FAILED"), "{inspected}");
    let spec = HfConfig::from_json(&llama_config(&[("pad_token_id", 3.into())])).unwrap().spec().unwrap();
    assert_eq!(spec.tensors[0].padding_idx, Some(3));
    assert!(spec.tensors[1..].iter().all(|t| t.padding_idx.is_none()));
    for bad in [1000, -1001] {
        let e = HfConfig::from_json(&llama_config(&[("pad_token_id", bad.into())])).unwrap_err().to_string();
        assert!(e.contains("Padding_idx must be within num_embeddings"), "{e}");
    }
    let e = HfConfig::from_json(&llama_config(&[("pad_token_id", "x".into())])).unwrap_err().to_string();
    assert!(e.contains("pad_token_id"), "{e}");
}

#[test]
fn like_keeps_every_name_shape_and_dtype_and_uses_module_defaults() {
    let scratch = common::scratch("hf-like");
    let dir = scratch.path();
    // A ResNet-50 checkpoint (convs, batch norms with i64 counts, a linear head), sharded.
    let original = dir.join("resnet");
    let args = ["init", "--model", "resnet50", "--seed", "4", "--dtype", "bf16", "--max-shard-size", "20MB"];
    ok(&nninit(&[&args[..], &["--out", s(&original)]].concat()));
    let expected = tensors(&original);
    for input in [original.clone(), original.join(INDEX_FILE)] {
        let spec = spec_like(&input).unwrap();
        assert_eq!(spec.tensors.len(), expected.len());
        let like = dir.join("like.safetensors");
        ok(&nninit(&["init", "--like", s(&input), "--seed", "5", "--out", s(&like)]));
        let got = tensors(&like);
        for (name, (dtype, shape, _)) in &expected {
            assert_eq!((&got[name].0, &got[name].1), (dtype, shape), "{name}");
        }
        assert_eq!(got.len(), expected.len());
    }
    let spec = spec_like(&original).unwrap();
    let kind = |name: &str| spec.tensors.iter().find(|t| t.name == name).unwrap().kind;
    assert_eq!(kind("conv1.weight"), LayerKind::Conv);
    assert_eq!(kind("layer1.0.downsample.1.weight"), LayerKind::Batchnorm);
    assert_eq!(kind("fc.weight"), LayerKind::Linear);
    let model = Model::new(&spec, 5, Dtype::F32).unwrap();
    let scheme = |name: &str| model.tensors.iter().find(|t| t.name == name).unwrap().scheme.to_string();
    // nn.Linear's defaults: kaiming_uniform(a=sqrt(5)), bias U(±1/sqrt(fan_in)) with fan_in 2048.
    assert!(scheme("fc.weight").contains(r#""scheme":"kaiming_uniform","a":2.23606797749979"#));
    let bound = 1.0 / 2048f64.sqrt();
    assert_eq!(scheme("fc.bias"), Scheme::uniform(-bound, bound).unwrap().to_string());
    assert_eq!(scheme("bn1.running_var"), r#"{"scheme":"ones"}"#);
    assert_eq!(scheme("bn1.num_batches_tracked"), r#"{"scheme":"zeros"}"#);
    // --dtype replaces the checkpoint's floating-point dtypes, not its integers.
    let f32_like = dir.join("f32.safetensors");
    ok(&nninit(&["init", "--like", s(&original), "--dtype", "f32", "--out", s(&f32_like)]));
    let got = tensors(&f32_like);
    assert_eq!(got["fc.weight"].0, safetensors::Dtype::F32);
    assert_eq!(got["bn1.num_batches_tracked"].0, safetensors::Dtype::I64);
    // A header that does not parse: one line, nothing written.
    let broken = dir.join("broken.safetensors");
    std::fs::write(&broken, [16u8, 0, 0, 0, 0, 0, 0, 0, b'{', b'x']).unwrap();
    fails(&nninit(&["init", "--like", s(&broken), "--out", s(&dir.join("y.safetensors"))]), "broken.safetensors");
    assert!(!dir.join("y.safetensors").exists());
}

#[test]
fn streamed_fills_equal_fills_in_memory_on_every_backend() {
    let cpu = CpuBackend::new();
    let fill = Fill::new(&Scheme::trunc_normal(0.0, 1.0, -2.0, 2.0).unwrap(), &[37, 53], Stream::new(8, 1)).unwrap();
    let regions = [
        Region::All,
        Region::Elements(3..1900),
        Region::Shard(Shard { rows: Some(2..30), cols: Some(5..41) }),
        Region::Block(vec![4..9, 17..40]),
    ];
    for region in &regions {
        for dtype in [Dtype::F32, Dtype::Bf16] {
            let expected = {
                let count = match region {
                    Region::All => 37 * 53,
                    Region::Elements(r) => (r.end - r.start) as usize,
                    Region::Shard(_) => 28 * 36,
                    Region::Block(_) => 5 * 23,
                };
                let mut out = vec![0u8; count * dtype.size() as usize];
                cpu.fill(&fill, region, dtype, &mut out).unwrap();
                out
            };
            // Pieces that are not a multiple of a row, a word or a Philox block.
            for piece in [6, 202, 1 << 20] {
                let mut got = Vec::new();
                cpu.fill_streamed(&fill, region, dtype, piece, &mut |b| {
                    assert!(b.len() as u64 <= piece.max(4));
                    got.extend_from_slice(b);
                    Ok(())
                })
                .unwrap();
                assert!(got == expected, "cpu {region:?} {dtype:?} piece {piece}");
                // (Tiny pieces on a GPU would be one submission and readback each.)
                for ctx in common::contexts().iter().filter(|_| piece > 6) {
                    let mut got = Vec::new();
                    ctx.filler
                        .fill_streamed_blocking(&fill, region, dtype, piece, &mut |b| {
                            got.extend_from_slice(b);
                            Ok(())
                        })
                        .unwrap();
                    assert!(got == expected, "{:?} {region:?} {dtype:?} piece {piece}", ctx.info.backend);
                }
            }
        }
    }
    // Through the writer: the file holds the shard with its shape.
    let scratch = common::scratch("hf-stream");
    let dir = scratch.path();
    let path = dir.join("w.safetensors");
    let region = Region::Shard(Shard { rows: Some(1..9), cols: None });
    let tensor = nninit::model::FillOutput { name: "w", fill: &fill, region: &region, dtype: Dtype::F16 };
    let mut calls = 0;
    let summary = nninit::model::write_fill_blocking(
        &Destination::File(path.clone()),
        &tensor,
        Backend::Cpu(&cpu),
        &HashMap::new(),
        &mut |_, total| {
            calls += 1;
            assert_eq!(total, 8 * 53 * 2);
        },
    )
    .unwrap();
    assert!(calls >= 2 && summary.bytes == 8 * 53 * 2);
    let file = TensorFile::open(&path).unwrap();
    assert_eq!(file.entry("w").unwrap().shape, [8, 53]);
}
