//! `nninit init`: a whole model (preset or spec file) into one safetensors file.

use std::path::{Path, PathBuf};

use nninit::cpu::CpuBackend;
use nninit::model::{presets, rules_from_file, Backend, MergeReport, Model, ModelSpec, Pretrained};
use nninit::{Dtype, Error};

use super::device::{open, DeviceChoice};
use super::fill::DtypeArg;
use super::progress::ProgressBar;

/// Arguments of `nninit init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// A preset (resnet50, cpn50, transformer-tiny, transformer-1b, transformer-7b) or a spec file (.json).
    #[arg(long)]
    model: String,
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
    /// The floating-point element type (tensors whose spec fixes a dtype keep it).
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    dtype: DtypeArg,
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
    /// The output file; written atomically.
    #[arg(long, required_unless_present = "print_spec")]
    out: Option<PathBuf>,
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

/// Builds the model's spec from `--model`, its options and `--rules`.
fn load_spec(args: &InitArgs) -> nninit::Result<ModelSpec> {
    let is_file = args.model.ends_with(".json") || Path::new(&args.model).is_file();
    let transformer = presets::TransformerConfig::named(&args.model);
    if args.num_class.is_some() && args.model != "cpn50" {
        return Err(Error::InvalidParameter("--num-class applies to --model cpn50 only".into()));
    }
    if args.transformer.any() && transformer.is_none() {
        return Err(Error::InvalidParameter("transformer options apply to --model transformer-* only".into()));
    }
    let mut spec = match (is_file, transformer) {
        (true, _) => ModelSpec::from_file(Path::new(&args.model))?,
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
            presets::transformer(&args.model, &config)?
        }
        (false, None) => presets::preset(&args.model, args.num_class)?,
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
    Ok(spec)
}

/// Checks `args` without running the model: its spec (read, not written) resolved for the dtype.
pub(super) fn check(args: &InitArgs) -> nninit::Result<ModelSpec> {
    let spec = load_spec(args)?;
    Model::new(&spec, 0, Dtype::from(args.dtype))?;
    Ok(spec)
}

/// Runs `nninit init` (`quiet`: no progress bar).
pub fn run(args: InitArgs, quiet: bool) -> nninit::Result<()> {
    let spec = if args.print_spec { load_spec(&args)? } else { check(&args)? };
    if args.print_spec {
        outln!("{}", serde_json::to_string_pretty(&spec).expect("specs serialize"));
        return Ok(());
    }
    let out = args.out.as_ref().expect("clap requires --out without --print-spec");
    let seed = args.seed.unwrap_or_else(|| {
        let seed = rand::random::<u64>();
        sayln!(args.json, "seed: {seed} (drawn at random; pass --seed {seed} to repeat)");
        seed
    });
    let mut model = Model::new(&spec, seed, Dtype::from(args.dtype))?;
    let mut merged = None;
    if !args.pretrained.is_empty() {
        let files: Vec<Pretrained> = args.pretrained.iter().map(|p| Pretrained::parse(p)).collect();
        let report = model.merge_pretrained(&files)?;
        print_merge(&report, model.tensors.len(), args.json);
        merged = Some(report);
    }
    let gpu = open(args.device, args.adapter.as_deref())?;
    let cpu = CpuBackend::new();
    let backend = gpu.as_ref().map_or(Backend::Cpu(&cpu), |ctx| Backend::Gpu(&ctx.filler));
    let mut bar = ProgressBar::new(!quiet);
    let summary =
        model.write_safetensors_blocking(out, backend, &Default::default(), &mut |done, total| bar.update(done, total));
    bar.finish();
    let summary = summary?;
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
        outln!("{json}");
        return Ok(());
    }
    outln!(
        "{}: {} tensors, {} elements ({} parameters), {} bytes ({:.2} GB) in {:.2} s ({:.2} GB/s) on {} -> {}",
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
