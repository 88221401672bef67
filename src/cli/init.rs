//! `nninit init`: a whole model (a preset, a spec file, a Hugging Face config.json, or the shape
//! of a checkpoint) into one safetensors file or Hugging Face shards.

use std::path::{Path, PathBuf};

use nninit::cpu::CpuBackend;
use nninit::io::parse_size;
use nninit::model::{
    presets, rules_from_file, spec_like, Backend, Destination, ElementType, MergeReport, Model, ModelSpec, Pretrained,
};
use nninit::{Dtype, Error};

use super::device::{open, DeviceChoice};
use super::fill::{file_destination, DtypeArg};
use super::progress::Progress;

/// Arguments of `nninit init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// A preset (resnet50, cpn50, transformer-tiny, transformer-1b, transformer-7b), a spec file
    /// (.json), or a Hugging Face config.json of the Llama family (llama, mistral, qwen2).
    #[arg(long, required_unless_present = "like", conflicts_with = "like")]
    model: Option<String>,
    /// Random weights shaped exactly like this checkpoint (a .safetensors file, an
    /// index.json, or a directory of shards): names, shapes and dtypes kept, PyTorch's module
    /// defaults as rules. Only its header is read.
    #[arg(long, value_name = "CHECKPOINT")]
    like: Option<PathBuf>,
    /// A rules file (JSON) that replaces the model's own rules.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Print the model's spec (tensors and rules) as JSON, to start a spec file from, and exit.
    #[arg(long)]
    print_spec: bool,
    /// cpn50: the number of keypoint classes.
    #[arg(long)]
    num_class: Option<usize>,
    #[command(flatten)]
    transformer: TransformerArgs,
    /// Only the tensors whose names match one of these globs (repeatable); their values are the
    /// same as in the whole model.
    #[arg(long)]
    only: Vec<String>,
    /// The seed; drawn at random (and printed) when absent.
    #[arg(long)]
    seed: Option<u64>,
    /// The floating-point element type (default f32; a config.json's torch_dtype; with --like,
    /// each tensor's own). Tensors whose spec fixes a dtype keep it.
    #[arg(long, value_enum)]
    dtype: Option<DtypeArg>,
    /// A pretrained safetensors file, [PREFIX=]FILE (repeatable; a later file wins): tensors whose
    /// PREFIX + key name a model tensor replace it.
    #[arg(long, value_name = "[PREFIX=]FILE")]
    pretrained: Vec<String>,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Use the GPU adapter whose name or backend contains this text (e.g. vulkan, gl).
    #[arg(long)]
    adapter: Option<String>,
    /// The output file, written atomically (`-`: streamed to standard output, not atomic, the
    /// run's own lines on stderr); with --max-shard-size, a checkpoint directory.
    #[arg(long, required_unless_present = "print_spec")]
    out: Option<PathBuf>,
    /// Write Hugging Face shards of at most SIZE bytes of tensors each (5GB, 500MB, 100KB, 2GiB)
    /// into the directory --out (created if need be), with model.safetensors.index.json (one
    /// shard: model.safetensors alone, as save_pretrained does). The directory's other files
    /// (config.json, tokenizer files) stay; the new checkpoint appears whole or not at all.
    #[arg(long, value_name = "SIZE")]
    max_shard_size: Option<String>,
    /// With --max-shard-size: replace the checkpoint the --out directory already holds (its
    /// model.safetensors, shards and index; nothing else).
    #[arg(long, requires = "max_shard_size")]
    force: bool,
    /// Print one JSON object describing the run on stdout (file, model, seed, dtype, tensors,
    /// elements, parameters, bytes, seconds, backend, pretrained); other lines go to stderr.
    #[arg(long)]
    json: bool,
}

/// Overrides of a `transformer-*` preset's config.
#[derive(Debug, clap::Args)]
struct TransformerArgs {
    /// transformer: vocabulary size.
    #[arg(long)]
    vocab: Option<usize>,
    /// transformer: hidden size.
    #[arg(long)]
    hidden: Option<usize>,
    /// transformer: decoder layers.
    #[arg(long)]
    layers: Option<usize>,
    /// transformer: attention heads.
    #[arg(long)]
    heads: Option<usize>,
    /// transformer: key/value heads.
    #[arg(long)]
    kv_heads: Option<usize>,
    /// transformer: MLP intermediate size.
    #[arg(long)]
    mlp: Option<usize>,
    /// transformer: tie the output head to the embedding (true/false).
    #[arg(long)]
    tied_embeddings: Option<bool>,
    /// transformer: std of projections and embeddings.
    #[arg(long)]
    init_std: Option<f64>,
}

impl TransformerArgs {
    fn any(&self) -> bool {
        self.vocab.is_some()
            || self.hidden.is_some()
            || self.layers.is_some()
            || self.heads.is_some()
            || self.kv_heads.is_some()
            || self.mlp.is_some()
            || self.tied_embeddings.is_some()
            || self.init_std.is_some()
    }
}

/// What `init` will run: the spec and the run's dtype.
pub(super) struct Request {
    spec: ModelSpec,
    dtype: Dtype,
}

/// Builds the model's spec from `--model` or `--like`, its options and `--rules`, and the run's
/// dtype.
fn load_spec(args: &InitArgs) -> nninit::Result<Request> {
    let explicit = args.dtype.map(Dtype::from);
    let (mut spec, dtype) = match (&args.like, &args.model) {
        (Some(path), _) => {
            let mut spec = spec_like(path)?;
            if explicit.is_some() {
                // --dtype replaces the checkpoint's floating-point dtypes.
                for t in &mut spec.tensors {
                    if matches!(t.dtype, Some(ElementType::Float(_))) {
                        t.dtype = None;
                    }
                }
            }
            (spec, explicit.unwrap_or(Dtype::F32))
        }
        (None, Some(model)) => model_spec(args, model, explicit)?,
        (None, None) => return Err(Error::InvalidParameter("give --model or --like".into())),
    };
    if let Some(path) = &args.rules {
        spec.rules = rules_from_file(path)?;
    }
    if !args.only.is_empty() {
        spec = spec.subset(&args.only);
        if spec.tensors.is_empty() {
            return Err(Error::InvalidParameter(format!("--only {:?} matches no tensor", args.only)));
        }
    }
    Ok(Request { spec, dtype })
}

/// `--model`: a spec file, a Hugging Face config, or a preset with its options.
fn model_spec(args: &InitArgs, model: &str, explicit: Option<Dtype>) -> nninit::Result<(ModelSpec, Dtype)> {
    let is_file = model.ends_with(".json") || Path::new(model).is_file();
    let transformer = presets::TransformerConfig::named(model);
    if args.num_class.is_some() && model != "cpn50" {
        return Err(Error::InvalidParameter("--num-class applies to --model cpn50 only".into()));
    }
    if args.transformer.any() && transformer.is_none() {
        return Err(Error::InvalidParameter("transformer options apply to --model transformer-* only".into()));
    }
    let spec = match (is_file, transformer) {
        (true, _) => {
            let (spec, named) = ModelSpec::from_file_with_dtype(Path::new(model))?;
            return Ok((spec, explicit.or(named).unwrap_or(Dtype::F32)));
        }
        (false, Some(mut config)) => {
            let t = &args.transformer;
            config.vocab = t.vocab.unwrap_or(config.vocab);
            config.hidden = t.hidden.unwrap_or(config.hidden);
            config.layers = t.layers.unwrap_or(config.layers);
            config.heads = t.heads.unwrap_or(config.heads);
            config.kv_heads = t.kv_heads.unwrap_or(config.kv_heads);
            config.mlp = t.mlp.unwrap_or(config.mlp);
            config.tied_embeddings = t.tied_embeddings.unwrap_or(config.tied_embeddings);
            config.init_std = t.init_std.unwrap_or(config.init_std);
            presets::transformer(model, &config)?
        }
        (false, None) => presets::preset(model, args.num_class)?,
    };
    Ok((spec, explicit.unwrap_or(Dtype::F32)))
}

/// Where the run writes: a file, or Hugging Face shards.
fn destination(args: &InitArgs) -> nninit::Result<Option<Destination>> {
    let Some(out) = &args.out else { return Ok(None) };
    Ok(Some(match &args.max_shard_size {
        Some(_) if out.as_os_str() == "-" => {
            return Err(Error::InvalidOutput(
                "--out - streams one file to standard output; shards (--max-shard-size) go into a directory".into(),
            ))
        }
        Some(size) => {
            Destination::Sharded { dir: out.clone(), max_shard_bytes: parse_size(size)?, replace: args.force }
        }
        None => file_destination(out),
    }))
}

/// Checks `args` without running the model: its spec (read, not written) resolved for the
/// dtype, and the destination.
pub(super) fn check(args: &InitArgs) -> nninit::Result<Request> {
    let request = load_spec(args)?;
    Model::new(&request.spec, 0, request.dtype)?;
    if let Some(to) = destination(args)? {
        to.check()?;
        if let Some(like) = &args.like {
            to.check_apart_from(like)?;
        }
    }
    Ok(request)
}

/// Runs `nninit init`.
pub fn run(args: InitArgs) -> nninit::Result<()> {
    if args.print_spec {
        let Request { spec, .. } = load_spec(&args)?;
        outln!("{}", serde_json::to_string_pretty(&spec).expect("specs serialize"));
        return Ok(());
    }
    let Request { spec, dtype } = check(&args)?;
    let to = destination(&args)?.expect("clap requires --out without --print-spec");
    // With the file on stdout, the run's own lines go to stderr.
    let aside = args.json || to == Destination::Stdout;
    let seed = args.seed.unwrap_or_else(|| {
        let seed = rand::random::<u64>();
        sayln!(aside, "seed: {seed} (drawn at random; pass --seed {seed} to repeat)");
        seed
    });
    let mut model = Model::new(&spec, seed, dtype)?;
    let mut merged = None;
    if !args.pretrained.is_empty() {
        let files: Vec<Pretrained> = args.pretrained.iter().map(|p| Pretrained::parse(p)).collect();
        let report = model.merge_pretrained(&files)?;
        print_merge(&report, model.tensors.len(), aside);
        merged = Some(report);
    }
    let gpu = open(args.device, args.adapter.as_deref())?;
    let cpu = CpuBackend::new();
    let backend = gpu.as_ref().map_or(Backend::Cpu(&cpu), |ctx| Backend::Gpu(&ctx.filler));
    let progress = Progress::bytes("init");
    let summary = model
        .write_safetensors_blocking(&to, backend, &Default::default(), &mut |done, total| progress.update(done, total));
    drop(progress);
    let summary = summary?;
    let out = to.path();
    let files: Vec<String> = match &to {
        Destination::Stdout => vec![out.display().to_string()],
        _ => summary.files.iter().map(|f| f.display().to_string()).collect(),
    };
    if args.json {
        let pretrained = merged.map(|r| {
            let files: Vec<_> = r
                .files
                .iter()
                .map(|f| serde_json::json!({"file": f.path.display().to_string(), "keys": f.keys, "loaded": f.loaded, "ignored": f.ignored}))
                .collect();
            serde_json::json!({"loaded": r.loaded, "initialized": r.initialized, "files": files})
        });
        let json = serde_json::json!({
            "file": out.display().to_string(),
            "files": files,
            "model": model.name,
            "seed": seed,
            "dtype": model.dtype.name(),
            "tensors": summary.tensors,
            "elements": summary.elements,
            "parameters": spec.parameters(),
            "bytes": summary.bytes,
            "seconds": summary.seconds,
            "backend": summary.backend,
            "pretrained": pretrained,
        });
        sayln!(to == Destination::Stdout, "{json}");
        return Ok(());
    }
    let shards = if files.len() > 1 { format!(" ({} shards and an index)", files.len()) } else { String::new() };
    sayln!(
        aside,
        "{}: {} tensors, {} elements ({} parameters), {} bytes ({:.2} GB) in {:.2} s ({:.2} GB/s) on {} -> {}{shards}",
        model.name,
        summary.tensors,
        summary.elements,
        spec.parameters().unwrap_or(u64::MAX),
        summary.bytes,
        summary.bytes as f64 / 1e9,
        summary.seconds,
        summary.bytes as f64 / summary.seconds.max(1e-9) / 1e9,
        summary.backend,
        out.display()
    );
    Ok(())
}

/// Prints honest merge counts: per file what it supplied and what was ignored, then in all.
fn print_merge(report: &MergeReport, tensors: usize, json: bool) {
    for file in &report.files {
        let ignored = match file.ignored.len() {
            0 => String::new(),
            n if n <= 8 => format!(": {}", file.ignored.join(", ")),
            n => format!(": {}, ... ({} more)", file.ignored[..8].join(", "), n - 8),
        };
        sayln!(
            json,
            "pretrained {}: {} keys, {} loaded, {} ignored{ignored}",
            file.path.display(),
            file.keys,
            file.loaded,
            file.ignored.len()
        );
    }
    sayln!(
        json,
        "model tensors: {tensors}: {} loaded from pretrained files, {} initialized",
        report.loaded,
        report.initialized
    );
}
