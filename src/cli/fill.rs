//! `nninit fill`: one tensor, one scheme, one safetensors file.

use nninit::cpu::CpuBackend;
use nninit::model::{write_fill_blocking, Backend, Destination, FillOutput};
use nninit::{Dtype, Error, Fill, Region, Shard, Stream};
use std::collections::HashMap;
use std::path::PathBuf;

use super::device::{open, DeviceChoice};
use super::progress::Progress;
use super::scheme_args::SchemeArgs;

/// Arguments of `nninit fill`.
#[derive(Debug, clap::Args)]
pub struct FillArgs {
    #[command(flatten)]
    scheme: SchemeArgs,
    /// The tensor's shape, e.g. 768,3072.
    #[arg(long, value_delimiter = ',', num_args = 1.., required = true)]
    shape: Vec<usize>,
    /// The seed; drawn at random (and printed) when absent.
    #[arg(long)]
    seed: Option<u64>,
    /// The stream number.
    #[arg(long, default_value_t = 0)]
    stream: u64,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Use the GPU adapter whose name or backend contains this text (e.g. vulkan, gl).
    #[arg(long)]
    adapter: Option<String>,
    /// The tensor's name in the file.
    #[arg(long, default_value = "weight")]
    name: String,
    /// The output file; written atomically, streamed (a piece at a time in memory). `-` streams
    /// the file to standard output (not atomic; the run's own lines go to stderr).
    #[arg(long)]
    out: PathBuf,
    /// The element type written (values are made in f32 and rounded to nearest-even).
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    dtype: DtypeArg,
    /// Only rows START:END of the leading dim (a shard), as the full tensor has them.
    #[arg(long)]
    rows: Option<String>,
    /// Only columns START:END of a 2-D tensor (a shard), as the full tensor has them.
    #[arg(long)]
    cols: Option<String>,
    /// Write this row of the leading dim as zeros, as `nn.Embedding(padding_idx=ROW)` does
    /// (negative counts from the end); every other value is unchanged.
    #[arg(long, value_name = "ROW", allow_negative_numbers = true)]
    padding_idx: Option<i64>,
    /// Print one JSON object describing the run on stdout (file, name, scheme, shape, shard
    /// shape, zero row, dtype, seed, stream, elements, bytes, seconds, backend); other lines go
    /// to stderr.
    #[arg(long)]
    json: bool,
}

/// `--dtype`, by nninit's short names or PyTorch's (`torch.float32`, `float`, `half`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum DtypeArg {
    #[value(aliases = ["float32", "float"])]
    F32,
    #[value(aliases = ["float16", "half"])]
    F16,
    #[value(alias = "bfloat16")]
    Bf16,
}

impl From<DtypeArg> for Dtype {
    fn from(d: DtypeArg) -> Self {
        match d {
            DtypeArg::F32 => Dtype::F32,
            DtypeArg::F16 => Dtype::F16,
            DtypeArg::Bf16 => Dtype::Bf16,
        }
    }
}

/// `--out` of one file: a path, or `-` for standard output.
pub(super) fn file_destination(out: &std::path::Path) -> Destination {
    if out.as_os_str() == "-" {
        Destination::Stdout
    } else {
        Destination::File(out.to_path_buf())
    }
}

/// Parses `A:B` into `A..B`.
pub(super) fn parse_range(text: &str) -> nninit::Result<std::ops::Range<u64>> {
    let parsed = text.split_once(':').and_then(|(a, b)| Some(a.trim().parse().ok()?..b.trim().parse().ok()?));
    parsed.ok_or_else(|| Error::InvalidShape(format!("{text:?} is not a range START:END")))
}

/// What a `fill` command line asks for, checked: the scheme resolved for the shape, the shard
/// and its size.
pub(super) struct Request {
    scheme: nninit::Scheme,
    /// `--padding-idx` as a row of the full tensor (a negative one counted from the end).
    zero_row: Option<u64>,
    shard: Shard,
    shard_shape: Vec<usize>,
    bytes: u64,
}

/// Checks `args` without filling anything: the scheme and its plan for the shape, the name, the
/// shard and the output's size.
pub(super) fn check(args: &FillArgs) -> nninit::Result<Request> {
    let scheme = args.scheme.scheme()?;
    nninit::io::check_tensor_name(&args.name)?;
    nninit::Plan::new(&scheme, &args.shape)?;
    let dtype = Dtype::from(args.dtype);
    let shard = Shard {
        rows: args.rows.as_deref().map(parse_range).transpose()?,
        cols: args.cols.as_deref().map(parse_range).transpose()?,
    };
    let shard_shape = shard.shape(&args.shape)?;
    file_destination(&args.out).check()?;
    let zero_row = args.padding_idx.map(|idx| padding_row(idx, &args.shape)).transpose()?;
    let elements = shard_shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
    let bytes = elements
        .and_then(|n| n.checked_mul(dtype.size()))
        .filter(|&b| b <= isize::MAX as u64)
        .ok_or_else(|| Error::InvalidShape(format!("shape {:?} is too large", args.shape)))?;
    Ok(Request { scheme, zero_row, shard, shard_shape, bytes })
}

/// `--padding-idx` as a row of `shape`'s leading dim ([`Fill::padding_row`]), with PyTorch's
/// message where there is no such row.
fn padding_row(idx: i64, shape: &[usize]) -> nninit::Result<u64> {
    let rows = shape.first().map_or(0, |&r| r as u64);
    Fill::padding_row(idx, rows).ok_or_else(|| {
        Error::InvalidParameter(format!(
            "Padding_idx must be within num_embeddings: --padding-idx {idx} of a tensor with {rows} rows"
        ))
    })
}

/// Fills the tensor (or its shard) on the chosen device and writes it.
pub fn run(args: FillArgs) -> nninit::Result<()> {
    let Request { scheme, zero_row, shard, shard_shape, bytes } = check(&args)?;
    let dtype = Dtype::from(args.dtype);
    let elements = bytes / dtype.size();
    let to = file_destination(&args.out);
    // With the file on stdout, the run's own lines go to stderr.
    let aside = args.json || to == Destination::Stdout;
    let seed = args.seed.unwrap_or_else(|| {
        let seed = rand::random::<u64>();
        sayln!(aside, "seed: {seed} (drawn at random; pass --seed {seed} to repeat)");
        seed
    });
    let stream = Stream::new(seed, args.stream);
    let gpu = open(args.device, args.adapter.as_deref())?;
    let cpu = CpuBackend::new();
    let backend = gpu.as_ref().map_or(Backend::Cpu(&cpu), |ctx| Backend::Gpu(&ctx.filler));

    let mut metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("nninit.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("nninit.stream_version".to_string(), nninit::STREAM_VERSION.to_string()),
        ("nninit.seed".to_string(), seed.to_string()),
        ("nninit.stream".to_string(), args.stream.to_string()),
        ("nninit.scheme".to_string(), scheme.to_string()),
        ("nninit.shape".to_string(), serde_json::to_string(&args.shape).expect("a shape serializes")),
    ]);
    if let Some(row) = zero_row {
        metadata.insert("nninit.zero_row".to_string(), row.to_string());
    }
    if shard != Shard::full() {
        metadata.insert("nninit.shard".to_string(), shard.to_json().to_string());
    }
    // The fill (with orthogonal's QR and sparse's mask) and the file are made while a bar shows
    // the bytes written; only a piece at a time is in memory.
    let progress = Progress::bytes("fill");
    let fill = Fill::new(&scheme, &args.shape, stream)?;
    let fill = match zero_row {
        Some(row) => fill.with_zero_row(row)?,
        None => fill,
    };
    let region = Region::Shard(shard.clone());
    let tensor = FillOutput { name: &args.name, fill: &fill, region: &region, dtype };
    let summary =
        write_fill_blocking(&to, &tensor, backend, &metadata, &mut |done, total| progress.update(done, total))?;
    drop(progress);
    let (seconds, backend) = (summary.seconds, summary.backend);
    if args.json {
        let json = serde_json::json!({
            "file": args.out.display().to_string(),
            "name": args.name,
            "scheme": serde_json::to_value(&scheme).expect("a scheme serializes"),
            "shape": args.shape,
            "shard_shape": shard_shape,
            "zero_row": zero_row,
            "dtype": dtype.name(),
            "seed": seed,
            "stream": args.stream,
            "elements": elements,
            "bytes": bytes,
            "seconds": seconds,
            "backend": backend,
        });
        sayln!(to == Destination::Stdout, "{json}");
        return Ok(());
    }
    sayln!(
        aside,
        "{}: {} {:?} {dtype:?} on {backend}: {elements} elements, {bytes} bytes in {:.3} s ({:.2} GB/s, written) -> {}",
        args.name,
        scheme.name(),
        shard_shape,
        seconds,
        bytes as f64 / seconds.max(1e-9) / 1e9,
        args.out.display()
    );
    Ok(())
}
