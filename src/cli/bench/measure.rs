//! The measurements of `nninit bench`: each a median over repetitions after one warm-up, on
//! buffers touched beforehand so page faults are not counted.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use nninit::cpu::{CpuBackend, CpuVariant};
use nninit::gpu::{describe, GpuContext, GpuTarget};
use nninit::model::{presets, write_fill_blocking, Backend, Destination, FillOutput, Model, TensorTarget};
use nninit::{Dtype, Fill, Region, Scheme, Stream};

use super::timing::{GpuTimer, Timing};
use rand::{Rng, SeedableRng};

/// One measured fill.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    /// `gpu`, `cpu`, `baseline` or `torch` (`torch.nn.init`, with `--torch`).
    pub backend: &'static str,
    /// The adapter's description, or `cpu` (the CPU backend's best variant), or `cpu (VARIANT)`
    /// for another compiled variant of the CPU backend (`baseline`, `avx2`).
    pub adapter: String,
    /// The scheme, or for baselines `memset`, `rand-uniform`, `rand-normal`, `gpu-constant`, or
    /// for a whole model its preset (`resnet50`, `transformer-1b`). `trunc_normal` is the common
    /// call (bounds at 100 std, PyTorch's defaults), `trunc_normal_2std` the bounds at 2 std.
    pub scheme: &'static str,
    /// The scheme's parameters, as PyTorch names them (the same for torch's row and nninit's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<&'static str>,
    /// `f32` or `bf16`.
    pub dtype: &'static str,
    /// CPU threads, for CPU rows.
    pub threads: Option<usize>,
    /// Bytes written per fill.
    pub bytes: u64,
    /// Elements written per fill.
    pub elements: u64,
    /// Median wall-clock seconds per fill (GPU: recording, submit and wait).
    pub seconds: f64,
    /// `bytes / seconds / 1e9`.
    pub gb_per_s: f64,
    /// `elements / seconds`.
    pub elements_per_s: f64,
    /// Median GPU time between timestamps around the fill, where the adapter has timestamps.
    pub kernel_seconds: Option<f64>,
    /// `bytes / kernel_seconds / 1e9`.
    pub kernel_gb_per_s: Option<f64>,
    /// The tensor's shape, where it is not one flat run of elements (orthogonal, sparse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<u64>>,
    /// The folder a file was written in, for the end-to-end rows (the fill into a safetensors
    /// file, and the `file-write` baseline); absent for fills into memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// Sizes and repetitions.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Bytes per fill.
    pub bytes: u64,
    /// Timed repetitions (after one warm-up).
    pub reps: usize,
    /// Also the large structured case (orthogonal 4096 x 4096), seconds per repetition.
    pub large: bool,
}

/// The random schemes measured, with their parameters (see [`params`]): the truncated normal
/// twice, as timm and most ViT code call it (`trunc_normal_(w, std=0.02)`, PyTorch's default
/// bounds at -2 and 2, 100 std) and with bounds at 2 std (where torch's rejection loop is slow).
pub fn schemes() -> nninit::Result<[(&'static str, Scheme); 4]> {
    Ok([
        ("uniform", Scheme::uniform(-0.1, 0.1)?),
        ("normal", Scheme::normal(0.0, 0.02)?),
        ("trunc_normal", Scheme::trunc_normal(0.0, 0.02, -2.0, 2.0)?),
        ("trunc_normal_2std", Scheme::trunc_normal(0.0, 0.02, -0.04, 0.04)?),
    ])
}

/// The parameters of a measured scheme, as PyTorch names them: one source for the rows of
/// nninit and of torch (`torch_init.py` calls torch with the same numbers).
pub fn params(scheme: &str) -> Option<&'static str> {
    Some(match scheme {
        "uniform" | "rand-uniform" => "a=-0.1, b=0.1",
        "normal" | "rand-normal" => "mean=0, std=0.02",
        "trunc_normal" => "std=0.02, a=-2, b=2",
        "trunc_normal_2std" => "std=0.02, a=-0.04, b=0.04",
        "kaiming_normal" => "a=0, fan_in, leaky_relu",
        "orthogonal" => "gain=1",
        "sparse" => "sparsity=0.9, std=0.01",
        _ => return None,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs `f` once to warm up, then `reps` times; the median seconds.
fn timed(reps: usize, f: impl FnMut() -> nninit::Result<()>) -> nninit::Result<f64> {
    timed_then(reps, f, || Ok(()))
}

/// [`timed`], with `after` run untimed after every run of `f` (the warm-up's too), before the
/// run's own error is returned: a clean-up that must happen whatever the run did.
fn timed_then(
    reps: usize,
    mut f: impl FnMut() -> nninit::Result<()>,
    mut after: impl FnMut() -> nninit::Result<()>,
) -> nninit::Result<f64> {
    let mut seconds = Vec::with_capacity(reps.max(1));
    for rep in 0..=reps.max(1) {
        let started = Instant::now();
        let ran = f();
        let elapsed = started.elapsed().as_secs_f64();
        after()?;
        ran?;
        if rep > 0 {
            seconds.push(elapsed);
        }
    }
    Ok(median(seconds))
}

#[allow(clippy::too_many_arguments)]
pub fn row(
    backend: &'static str,
    adapter: String,
    scheme: &'static str,
    dtype: Dtype,
    threads: Option<usize>,
    bytes: u64,
    seconds: f64,
    kernel_seconds: Option<f64>,
) -> Row {
    let elements = bytes / dtype.size();
    Row {
        backend,
        adapter,
        scheme,
        params: params(scheme),
        dtype: dtype.name(),
        threads,
        bytes,
        elements,
        seconds,
        gb_per_s: bytes as f64 / seconds / 1e9,
        elements_per_s: elements as f64 / seconds,
        kernel_seconds,
        kernel_gb_per_s: kernel_seconds.map(|k| bytes as f64 / k / 1e9),
        shape: None,
        file: None,
    }
}

/// The CPU backend and the CPU baselines: memset (all threads and one), a sequential `rand`
/// `StdRng` uniform fill and a `rand_distr` normal fill.
pub fn cpu_rows(config: Config, cpu: &CpuBackend) -> nninit::Result<Vec<Row>> {
    let bytes = config.bytes / 8 * 8;
    let words = (bytes / 4) as usize;
    let mut buffer = vec![1u32; words];
    let mut rows = Vec::new();
    let threads = cpu.threads();
    let cpu_name = || "cpu".to_string();

    for memset_threads_used in [threads, 1] {
        let seconds = timed(config.reps, || {
            memset_threads(bytemuck::cast_slice_mut(&mut buffer), memset_threads_used);
            Ok(())
        })?;
        let used = Some(memset_threads_used);
        rows.push(row("baseline", cpu_name(), "memset", Dtype::F32, used, bytes, seconds, None));
    }

    let floats: &mut [f32] = bytemuck::cast_slice_mut(&mut buffer);
    let uniform = rand::distr::Uniform::new(-0.1f32, 0.1).expect("valid bounds");
    let seconds = rand_fill_seconds(config.reps, floats, uniform)?;
    rows.push(row("baseline", cpu_name(), "rand-uniform", Dtype::F32, Some(1), bytes, seconds, None));
    let normal = rand_distr::Normal::new(0.0f32, 0.02).expect("valid std");
    let seconds = rand_fill_seconds(config.reps, floats, normal)?;
    rows.push(row("baseline", cpu_name(), "rand-normal", Dtype::F32, Some(1), bytes, seconds, None));

    for (name, scheme) in schemes()? {
        let fill = Fill::new(&scheme, &[words], Stream::new(1, 0))?;
        let out: &mut [u8] = bytemuck::cast_slice_mut(&mut buffer);
        let seconds = timed(config.reps, || cpu.fill(&fill, &Region::All, Dtype::F32, out))?;
        rows.push(row("cpu", cpu_name(), name, Dtype::F32, Some(threads), bytes, seconds, None));
        let bf16 = Fill::new(&scheme, &[2 * words], Stream::new(1, 0))?;
        let seconds = timed(config.reps, || cpu.fill(&bf16, &Region::All, Dtype::Bf16, out))?;
        rows.push(row("cpu", cpu_name(), name, Dtype::Bf16, Some(threads), bytes, seconds, None));
    }
    rows.extend(variant_rows(config, &mut buffer)?);
    rows.extend(structured_rows(config, cpu)?);
    rows.extend(model_rows(config, cpu)?);
    Ok(rows)
}

/// End to end on the CPU backend: `normal` into a safetensors file in `dir` through
/// `write_fill_blocking` (what `nninit fill` does: made in pieces, written by a second thread,
/// renamed into place), in f32 and bf16; and the baseline the file system allows, `file-write`:
/// the same number of bytes, already in memory, written with `write(2)` in 64 MiB pieces (as `dd`
/// does) and synced as nninit's commit syncs. Each file is removed after its repetition, untimed.
pub fn file_rows(config: Config, cpu: &CpuBackend, dir: &Path) -> nninit::Result<Vec<Row>> {
    let bytes = config.bytes / 8 * 8;
    let path = dir.join(format!("nninit-bench-{}.safetensors", std::process::id()));
    let io = |source: std::io::Error| nninit::Error::Io { path: path.display().to_string(), source };
    let remove = || match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
        _ => Ok(()),
    };
    let shown = Some(dir.display().to_string());
    let mut rows = Vec::new();
    let piece = vec![MEMSET_BYTE; bytes.min(64 << 20) as usize];
    let seconds = timed_then(
        config.reps,
        || {
            let mut file = std::fs::File::create(&path).map_err(io)?;
            let mut left = bytes;
            while left > 0 {
                let n = left.min(piece.len() as u64) as usize;
                file.write_all(&piece[..n]).map_err(io)?;
                left -= n as u64;
            }
            file.sync_all().map_err(io)
        },
        &remove,
    )?;
    let mut measured = row("baseline", "cpu".into(), "file-write", Dtype::F32, Some(1), bytes, seconds, None);
    measured.file = shown.clone();
    rows.push(measured);
    let to = Destination::File(path.clone());
    for dtype in [Dtype::F32, Dtype::Bf16] {
        let fill = Fill::new(&Scheme::normal(0.0, 0.02)?, &[(bytes / dtype.size()) as usize], Stream::new(1, 0))?;
        let tensor = FillOutput { name: "weight", fill: &fill, region: &Region::All, dtype };
        let seconds = timed_then(
            config.reps,
            || write_fill_blocking(&to, &tensor, Backend::Cpu(cpu), &Default::default(), &mut |_, _| {}).map(drop),
            &remove,
        )?;
        let mut measured = row("cpu", "cpu".into(), "normal", dtype, Some(cpu.threads()), bytes, seconds, None);
        measured.file = shown.clone();
        rows.push(measured);
    }
    Ok(rows)
}

/// Whole models into memory on the CPU backend, from the preset's name to every tensor's bytes
/// (`Model::new` and `Model::to_host`): ResNet-50 in f32 and, without `--quick`, Llama-3.2-1B's
/// shapes (`transformer-1b`) in bf16. The row's scheme is the preset's name.
fn model_rows(config: Config, cpu: &CpuBackend) -> nninit::Result<Vec<Row>> {
    let mut cases = vec![("resnet50", Dtype::F32)];
    if config.large {
        cases.push(("transformer-1b", Dtype::Bf16));
    }
    let mut rows = Vec::new();
    for (name, dtype) in cases {
        let mut bytes = 0u64;
        let seconds = timed(config.reps, || {
            let model = Model::new(&presets::preset(name, None)?, 1, dtype)?;
            let tensors = model.to_host_blocking(Backend::Cpu(cpu))?;
            bytes = tensors.iter().map(|t| t.len() as u64).sum();
            black_box(tensors);
            Ok(())
        })?;
        rows.push(row("cpu", "cpu".into(), name, dtype, Some(cpu.threads()), bytes, seconds, None));
    }
    Ok(rows)
}

/// Uniform and normal f32 on one thread with each compiled variant of the CPU backend that
/// this CPU runs: what the same core gains from each instruction set. The best variant's rows
/// have adapter `cpu`, the others `cpu (VARIANT)`.
fn variant_rows(config: Config, buffer: &mut [u32]) -> nninit::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let out: &mut [u8] = bytemuck::cast_slice_mut(buffer);
    let bytes = out.len() as u64;
    for variant in CpuVariant::supported() {
        let single = CpuBackend::with_threads(1).with_variant(variant)?;
        let adapter =
            if variant == CpuVariant::best() { "cpu".to_string() } else { format!("cpu ({})", variant.name()) };
        for (name, scheme) in schemes()? {
            if name.starts_with("trunc_normal") {
                continue;
            }
            let fill = Fill::new(&scheme, &[out.len() / 4], Stream::new(1, 0))?;
            let seconds = timed(config.reps, || single.fill(&fill, &Region::All, Dtype::F32, out))?;
            rows.push(row("cpu", adapter.clone(), name, Dtype::F32, Some(1), bytes, seconds, None));
        }
    }
    Ok(rows)
}

/// The structured cases: orthogonal at 2048² (and 4096² without `--quick`) and sparse at 4096².
fn structured_cases(config: Config) -> nninit::Result<Vec<(&'static str, Scheme, [usize; 2])>> {
    let mut cases = vec![("orthogonal", Scheme::orthogonal(1.0)?, [2048usize, 2048])];
    if config.large {
        cases.push(("orthogonal", Scheme::orthogonal(1.0)?, [4096, 4096]));
    }
    cases.push(("sparse", Scheme::sparse(0.9, 0.01)?, [4096, 4096]));
    Ok(cases)
}

/// Orthogonal and sparse into memory on the CPU backend, host-side work included (the QR, the
/// mask): what a user pays for `Fill::new` plus the fill.
fn structured_rows(config: Config, cpu: &CpuBackend) -> nninit::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (name, scheme, shape) in structured_cases(config)? {
        let bytes = (shape[0] * shape[1] * 4) as u64;
        let mut out = vec![1u8; bytes as usize];
        let seconds = timed(config.reps, || {
            let fill = Fill::new(&scheme, &shape, Stream::new(1, 0))?;
            cpu.fill(&fill, &Region::All, Dtype::F32, &mut out)
        })?;
        let mut measured = row("cpu", "cpu".into(), name, Dtype::F32, Some(cpu.threads()), bytes, seconds, None);
        measured.shape = Some(shape.iter().map(|&d| d as u64).collect());
        rows.push(measured);
    }
    Ok(rows)
}

/// The median wall time of `run` (one warm-up first), and the median GPU time where every run
/// reports one.
fn timed_gpu(reps: usize, mut run: impl FnMut() -> nninit::Result<Timing>) -> nninit::Result<(f64, Option<f64>)> {
    run()?;
    let timings = (0..reps.max(1)).map(|_| run()).collect::<nninit::Result<Vec<_>>>()?;
    let wall = median(timings.iter().map(|t| t.wall).collect());
    Ok((wall, timings.iter().map(|t| t.gpu).collect::<Option<Vec<f64>>>().map(median)))
}

/// Orthogonal, sparse and the `resnet50` preset (f32, one arena buffer, one submission) into
/// one adapter's memory. The wall time includes the host-side work (`Fill::new`'s QR and mask,
/// `Model::new`) as the CPU rows do; the kernel time is the GPU's part alone.
fn gpu_structured_rows(config: Config, gpu: &GpuContext, timer: &GpuTimer, adapter: &str) -> nninit::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let usage = wgpu::BufferUsages::STORAGE;
    for (name, scheme, shape) in structured_cases(config)? {
        let bytes = (shape[0] * shape[1] * 4) as u64;
        let buffer = pollster::block_on(nninit::gpu::create_buffer_checked(&gpu.device, "nninit bench", bytes, usage))?;
        let target = GpuTarget::new(&buffer, Dtype::F32);
        let (wall, kernel) = timed_gpu(config.reps, || {
            let started = Instant::now();
            let fill = Fill::new(&scheme, &shape, Stream::new(1, 0))?;
            let timing = timer.time(&gpu.device, &gpu.queue, |encoder| gpu.filler.record(encoder, &fill, &target))?;
            Ok(Timing { wall: started.elapsed().as_secs_f64(), gpu: timing.gpu })
        })?;
        let mut measured = row("gpu", adapter.to_string(), name, Dtype::F32, None, bytes, wall, kernel);
        measured.shape = Some(shape.iter().map(|&d| d as u64).collect());
        rows.push(measured);
    }
    let spec = presets::preset("resnet50", None)?;
    let layout =
        Model::new(&spec, 1, Dtype::F32)?.arena_layout(gpu.device.limits().min_storage_buffer_offset_alignment.into());
    // COPY_DST: the model's i64 counters are written through the queue.
    let arena_usage = usage | wgpu::BufferUsages::COPY_DST;
    let arena =
        pollster::block_on(nninit::gpu::create_buffer_checked(&gpu.device, "nninit bench", layout.size, arena_usage))?;
    let targets: Vec<TensorTarget<'_>> =
        layout.offsets.iter().map(|&byte_offset| TensorTarget { buffer: &arena, byte_offset }).collect();
    let mut bytes = 0;
    let (wall, kernel) = timed_gpu(config.reps, || {
        let started = Instant::now();
        let model = Model::new(&spec, 1, Dtype::F32)?;
        bytes = model.bytes();
        let timing =
            timer.time(&gpu.device, &gpu.queue, |encoder| model.record_into(&gpu.filler, encoder, &targets))?;
        Ok(Timing { wall: started.elapsed().as_secs_f64(), gpu: timing.gpu })
    })?;
    rows.push(row("gpu", adapter.to_string(), "resnet50", Dtype::F32, None, bytes, wall, kernel));
    Ok(rows)
}

/// Median seconds of a sequential fill of `out` from a `StdRng` through `distribution`: what a
/// user of `rand` would write.
fn rand_fill_seconds(
    reps: usize,
    out: &mut [f32],
    distribution: impl rand::distr::Distribution<f32> + Copy,
) -> nninit::Result<f64> {
    timed(reps, || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        black_box(&mut *out).iter_mut().for_each(|x| *x = rng.sample(distribution));
        Ok(())
    })
}

/// The byte memset writes: not zero, because zeroing is special-cased on some CPUs (on this
/// project's AMD EPYC machines, 86 GB/s for zeros against 40 GB/s for any other byte).
const MEMSET_BYTE: u8 = 0x3f;

/// `memset` on `threads` threads, each over its own part.
fn memset_threads(bytes: &mut [u8], threads: usize) {
    let part = bytes.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        for chunk in bytes.chunks_mut(part) {
            scope.spawn(move || black_box(chunk).fill(black_box(MEMSET_BYTE)));
        }
    });
}

/// One adapter: its constant fill (the adapter's write limit) and each random scheme, in f32
/// and bf16, timed by wall clock and by GPU timestamps where the adapter has them; then the
/// structured schemes and a whole model (`gpu_structured_rows`).
pub fn gpu_rows(config: Config, gpu: &GpuContext) -> nninit::Result<Vec<Row>> {
    let bytes = config.bytes.min(gpu.device.limits().max_buffer_size) / 8 * 8;
    let usage = wgpu::BufferUsages::STORAGE;
    let buffer = pollster::block_on(nninit::gpu::create_buffer_checked(&gpu.device, "nninit bench", bytes, usage))?;
    let timer = GpuTimer::new(&gpu.device, &gpu.queue);
    let adapter = describe(&gpu.info);
    let mut rows = Vec::new();
    let constant = [("gpu-constant", Scheme::constant(0.5)?)];
    for dtype in [Dtype::F32, Dtype::Bf16] {
        let target = GpuTarget::new(&buffer, dtype);
        for (name, scheme) in constant.iter().cloned().chain(schemes()?) {
            let fill = Fill::new(&scheme, &[(bytes / dtype.size()) as usize], Stream::new(1, 0))?;
            let (wall, kernel) = timed_gpu(config.reps, || {
                timer.time(&gpu.device, &gpu.queue, |encoder| gpu.filler.record(encoder, &fill, &target))
            })?;
            let backend = if name == "gpu-constant" { "baseline" } else { "gpu" };
            rows.push(row(backend, adapter.clone(), name, dtype, None, bytes, wall, kernel));
        }
    }
    drop(buffer);
    rows.extend(gpu_structured_rows(config, gpu, &timer, &adapter)?);
    Ok(rows)
}
