//! `nninit fill`: one tensor, one scheme, one safetensors file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use nninit::cpu::CpuBackend;
use nninit::prepared::Prepared;
use nninit::tensor_file::{write_f32_atomic, F32Tensor};
use nninit::{Error, Plan, Stream};

use super::device::{open, DeviceChoice};
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
    /// The output file; written atomically.
    #[arg(long)]
    out: PathBuf,
}

/// Fills the tensor on the chosen device and writes it.
pub fn run(args: FillArgs) -> nninit::Result<()> {
    let init = args.scheme.init()?;
    let plan = Plan::new(&init, &args.shape)?;
    let elements = plan.elements();
    if elements
        .checked_mul(4)
        .is_none_or(|b| b > isize::MAX as u64)
    {
        return Err(Error::InvalidShape(format!(
            "shape {:?} is too large",
            args.shape
        )));
    }
    let seed = args.seed.unwrap_or_else(|| {
        let seed = rand::random::<u64>();
        println!("seed: {seed} (drawn at random; pass --seed {seed} to repeat)");
        seed
    });
    let stream = Stream::new(seed, args.stream);
    let gpu = open(args.device, args.adapter.as_deref())?;

    let started = Instant::now();
    let (backend, words) = match &gpu {
        Some(ctx) => (
            nninit::gpu::describe(&ctx.info),
            ctx.init_to_host(&plan, stream, 0..elements)?,
        ),
        None => {
            let cpu = CpuBackend::new();
            let mut values = Vec::new();
            values
                .try_reserve_exact(elements as usize)
                .map_err(|e| Error::LimitExceeded(e.to_string()))?;
            values.resize(elements as usize, 0f32);
            cpu.fill_prepared(&mut values, 0, &Prepared::new(&plan, stream)?);
            let words = bytemuck::allocation::cast_vec(values);
            (format!("CPU backend ({} threads)", cpu.threads()), words)
        }
    };
    let seconds = started.elapsed().as_secs_f64();

    let metadata = HashMap::from([
        (
            "nninit.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (
            "nninit.stream_version".to_string(),
            nninit::stream::STREAM_VERSION.to_string(),
        ),
        ("nninit.seed".to_string(), seed.to_string()),
        ("nninit.stream".to_string(), args.stream.to_string()),
        (
            "nninit.scheme".to_string(),
            serde_json::to_string(&init).expect("Init serializes"),
        ),
    ]);
    let data: &[f32] = bytemuck::cast_slice(&words);
    write_f32_atomic(
        &args.out,
        &[F32Tensor {
            name: &args.name,
            shape: &args.shape,
            data,
        }],
        &metadata,
    )?;
    let bytes = elements * 4;
    println!(
        "{}: {} {:?} f32 on {backend}: {elements} elements, {bytes} bytes in {:.3} s ({:.2} GB/s incl. readback) -> {}",
        args.name,
        init.name(),
        args.shape,
        seconds,
        bytes as f64 / seconds.max(1e-9) / 1e9,
        args.out.display()
    );
    Ok(())
}
