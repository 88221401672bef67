//! `nninit fill`: one tensor, one scheme, one safetensors file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use nninit::cpu::CpuBackend;
use nninit::tensor_file::{write_f32_atomic, F32Tensor};
use nninit::{Error, Fill, Scheme, Stream};

use super::device::{open, DeviceChoice};

/// The schemes `nninit fill` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SchemeName {
    Uniform,
    Normal,
    Constant,
    Ones,
    Zeros,
}

/// Arguments of `nninit fill`.
#[derive(Debug, clap::Args)]
pub struct FillArgs {
    /// The scheme, as torch.nn.init names it (without the trailing underscore).
    #[arg(value_enum)]
    scheme: SchemeName,
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
    /// uniform: lower bound (default 0).
    #[arg(long, allow_hyphen_values = true)]
    a: Option<f64>,
    /// uniform: upper bound (default 1).
    #[arg(long, allow_hyphen_values = true)]
    b: Option<f64>,
    /// normal: mean (default 0).
    #[arg(long, allow_hyphen_values = true)]
    mean: Option<f64>,
    /// normal: standard deviation (default 1).
    #[arg(long, allow_hyphen_values = true)]
    std: Option<f64>,
    /// constant: the value.
    #[arg(long, allow_hyphen_values = true)]
    val: Option<f64>,
}

impl FillArgs {
    /// The scheme with its parameters; a parameter the scheme does not take is an error.
    fn scheme(&self) -> nninit::Result<Scheme> {
        let given = [
            ("--a", self.a),
            ("--b", self.b),
            ("--mean", self.mean),
            ("--std", self.std),
            ("--val", self.val),
        ];
        let takes: &[&str] = match self.scheme {
            SchemeName::Uniform => &["--a", "--b"],
            SchemeName::Normal => &["--mean", "--std"],
            SchemeName::Constant => &["--val"],
            SchemeName::Ones | SchemeName::Zeros => &[],
        };
        if let Some((flag, _)) = given
            .iter()
            .find(|(flag, v)| v.is_some() && !takes.contains(flag))
        {
            return Err(Error::InvalidParameter(
                format!("{flag} does not apply to {:?}", self.scheme).to_lowercase(),
            ));
        }
        match self.scheme {
            SchemeName::Uniform => Scheme::uniform(self.a.unwrap_or(0.0), self.b.unwrap_or(1.0)),
            SchemeName::Normal => Scheme::normal(self.mean.unwrap_or(0.0), self.std.unwrap_or(1.0)),
            SchemeName::Constant => Scheme::constant(
                self.val
                    .ok_or_else(|| Error::InvalidParameter("constant needs --val".into()))?,
            ),
            SchemeName::Ones => Ok(Scheme::ones()),
            SchemeName::Zeros => Ok(Scheme::zeros()),
        }
    }
}

/// Fills the tensor on the chosen device and writes it.
pub fn run(args: FillArgs) -> nninit::Result<()> {
    let scheme = args.scheme()?;
    let elements = args
        .shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .filter(|&n| n.checked_mul(4).is_some_and(|b| b <= isize::MAX as u64))
        .ok_or_else(|| Error::InvalidShape(format!("shape {:?} is too large", args.shape)))?;
    let seed = args.seed.unwrap_or_else(|| {
        let seed = rand::random::<u64>();
        println!("seed: {seed} (drawn at random; pass --seed {seed} to repeat)");
        seed
    });
    let fill = Fill::new(&scheme, Stream::new(seed, args.stream));
    let gpu = open(args.device, args.adapter.as_deref())?;

    let started = Instant::now();
    let (backend, words) = match &gpu {
        Some(ctx) => (
            nninit::gpu::describe(&ctx.info),
            ctx.fill_to_host(&fill, 0..elements)?,
        ),
        None => {
            let cpu = CpuBackend::new();
            let mut words = vec![0u32; elements as usize];
            cpu.fill_words(&mut words, 0, &fill);
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
            serde_json::to_string(&scheme).expect("scheme serializes"),
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
        scheme.name(),
        args.shape,
        seconds,
        bytes as f64 / seconds.max(1e-9) / 1e9,
        args.out.display()
    );
    Ok(())
}
