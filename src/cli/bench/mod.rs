//! `nninit bench`: nninit on each adapter and on the CPU, side by side with the baselines a user
//! would pick instead, in one run on one machine; the ratios that matter, as text, JSON or a chart.

mod machine;
mod measure;
mod timing;
mod torch;

use std::path::PathBuf;

use nninit::cpu::CpuBackend;
use nninit::gpu::{adapters_blocking, describe, FillerOptions, GpuContext, GpuFiller};

use super::plot::{bar_chart, Bar};
use super::progress::Progress;
use machine::{AdapterInfo, Machine};
use measure::{params, Config, Row};

/// Arguments of `nninit bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Small buffers and few repetitions: done in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Print one JSON object {"machine": ..., "rows": [...], "ratios": [...]} instead of tables.
    #[arg(long)]
    json: bool,
    /// Draw the ratios as a bar chart into this PNG file.
    #[arg(long, value_name = "FILE.png")]
    plot: Option<PathBuf>,
    /// MiB written per fill (default 256, or 32 with --quick).
    #[arg(long)]
    mib: Option<u64>,
    /// Timed repetitions per row, after one warm-up (default 7, or 3 with --quick).
    #[arg(long)]
    reps: Option<usize>,
    /// Only adapters whose name or backend contains this text; `none` for the CPU alone.
    #[arg(long)]
    adapter: Option<String>,
    /// Also measure torch.nn.init (uniform_, normal_, trunc_normal_ with its default bounds and
    /// with bounds at 2 std, kaiming_normal_, normal_ in bf16, orthogonal_, sparse_) with this Python (default python3), on the same sizes and
    /// thread count, as rows with backend `torch` and ratios against them.
    #[arg(long, value_name = "PYTHON", num_args = 0..=1, default_missing_value = "python3")]
    torch: Option<String>,
    /// The folder for the end-to-end rows: `normal` written into a safetensors file there, as
    /// `nninit fill` writes it, beside the folder's own `write(2)` rate (default /dev/shm where
    /// it exists, else the temporary folder). Its files are removed after each repetition.
    #[arg(long, value_name = "DIR")]
    file_dir: Option<PathBuf>,
    /// Invocations per workgroup of the GPU fill kernels (default 256, or the adapter's limit
    /// where lower): for tuning on an adapter; the values never depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    workgroup_size: Option<u32>,
}

/// A ratio between two rows, and the target it should reach.
#[derive(Debug, serde::Serialize)]
pub struct Ratio {
    /// What over what.
    pub name: String,
    /// The ratio of throughputs.
    pub value: f64,
    /// The target, where the project has one.
    pub target: Option<f64>,
    /// `wall` or `kernel` (GPU timestamps).
    pub basis: &'static str,
}

/// Runs `nninit bench`.
pub fn run(args: BenchArgs) -> nninit::Result<()> {
    let mib = args.mib.unwrap_or(if args.quick { 32 } else { 256 });
    if mib == 0 {
        return Err(nninit::Error::InvalidParameter("--mib must be at least 1".into()));
    }
    if let Some(parent) = args.plot.as_deref().and_then(std::path::Path::parent) {
        if !parent.as_os_str().is_empty() && !parent.is_dir() {
            return Err(nninit::Error::InvalidParameter(format!("--plot: folder {} does not exist", parent.display())));
        }
    }
    let file_dir = match args.file_dir {
        Some(dir) if !dir.is_dir() => {
            return Err(nninit::Error::InvalidParameter(format!("--file-dir: folder {} does not exist", dir.display())))
        }
        Some(dir) => dir,
        None => Some(PathBuf::from("/dev/shm")).filter(|d| d.is_dir()).unwrap_or_else(std::env::temp_dir),
    };
    let config =
        Config { bytes: mib << 20, reps: args.reps.unwrap_or(if args.quick { 3 } else { 7 }), large: !args.quick };
    let cpu = CpuBackend::new();
    let wanted = |adapter: &wgpu::Adapter| match args.adapter.as_deref().map(str::to_lowercase) {
        None => true,
        Some(pattern) => {
            let info = adapter.get_info();
            pattern != "none"
                && (info.name.to_lowercase().contains(&pattern)
                    || format!("{:?}", info.backend).to_lowercase().contains(&pattern))
        }
    };
    // The CPU rows run before any device exists: a software adapter's worker threads would
    // share the cores with them.
    let found: Vec<wgpu::Adapter> = adapters_blocking().into_iter().filter(|a| wanted(a)).collect();
    // The workgroup size is checked here, before minutes of measuring, not when the adapter's
    // turn comes.
    let options = FillerOptions { workgroup_size: args.workgroup_size, ..Default::default() };
    let infos = found
        .iter()
        .map(|a| {
            let name = describe(&a.get_info());
            let workgroup_size = options.workgroup_size_for(&a.limits()).map_err(|e| match e {
                nninit::Error::LimitExceeded(why) => nninit::Error::LimitExceeded(format!(
                    "--workgroup-size {} on {name}: {why}",
                    args.workgroup_size.unwrap_or_default()
                )),
                other => other,
            })?;
            let timestamps = a.features().contains(wgpu::Features::TIMESTAMP_QUERY);
            Ok(AdapterInfo { name, timestamps, workgroup_size })
        })
        .collect::<nninit::Result<_>>()?;
    let machine = Machine::read(cpu.threads(), infos);
    if !args.json {
        outln!(
            "{} ({}; variant {}) | {} threads | {} | {} MiB per fill, median of {}",
            machine.cpu,
            machine.cpu_features.join(" "),
            machine.cpu_variant,
            machine.threads,
            machine.date,
            mib,
            config.reps
        );
    }
    let progress = Progress::steps("bench", 1 + found.len() as u64);
    if let Some(python) = &args.torch {
        // Fail early, before minutes of measuring, when Python or torch is missing.
        torch::check(python)?;
    }
    progress.message("the CPU and its baselines");
    let mut rows = measure::cpu_rows(config, &cpu)?;
    progress.message("the CPU into a file");
    rows.extend(measure::file_rows(config, &cpu, &file_dir)?);
    progress.step();
    if let Some(python) = &args.torch {
        progress.message("torch.nn.init");
        let (torch_rows, version) = torch::torch_rows(python, config, cpu.threads(), args.quick)?;
        if !args.json {
            progress.suspend(|| outln!("torch {version} ({python}), {} threads", cpu.threads()));
        }
        rows.extend(torch_rows);
    }
    for adapter in &found {
        let mut gpu = GpuContext::from_adapter_blocking(adapter, adapter.limits())?;
        if args.workgroup_size.is_some() {
            gpu.filler = GpuFiller::with_options_blocking(&gpu.device, &gpu.queue, options)?;
        }
        progress.message(&describe(&gpu.info));
        rows.extend(measure::gpu_rows(config, &gpu)?);
        progress.step();
    }
    drop(progress);
    let ratios = ratios(&rows);
    if args.json {
        let report = serde_json::json!({"machine": machine, "rows": rows, "ratios": ratios});
        outln!("{}", serde_json::to_string_pretty(&report).expect("rows serialize"));
    } else {
        print_tables(&rows, &ratios, &machine);
    }
    if let Some(path) = &args.plot {
        let bars: Vec<Bar> =
            ratios.iter().map(|r| Bar { label: r.name.clone(), value: r.value, target: r.target }).collect();
        let subtitle = format!(
            "{} ({}) | {} threads | {} | {mib} MiB per fill",
            machine.cpu, machine.cpu_variant, machine.threads, machine.date
        );
        bar_chart("nninit bench: throughput ratios (red: target)", &subtitle, &bars).save(path)?;
    }
    Ok(())
}

/// The ratios that matter: nninit / rand, nninit / memset, GPU random / GPU constant fill.
fn ratios(rows: &[Row]) -> Vec<Ratio> {
    let find = |backend: &str, adapter: &str, scheme: &str, dtype: &str, threads: Option<usize>| {
        rows.iter().find(|r| {
            r.file.is_none()
                && r.backend == backend
                && r.adapter == adapter
                && r.scheme == scheme
                && r.dtype == dtype
                && (threads.is_none() || r.threads == threads)
        })
    };
    let mut out = Vec::new();
    let mut push = |name: String, over: Option<&Row>, under: Option<&Row>, target: Option<f64>, kernel: bool| {
        if let (Some(a), Some(b)) = (over, under) {
            let (value, basis) = match (kernel, a.kernel_gb_per_s, b.kernel_gb_per_s) {
                (true, Some(x), Some(y)) => (x / y, "kernel"),
                _ => (a.gb_per_s / b.gb_per_s, "wall"),
            };
            out.push(Ratio { name, value, target, basis });
        }
    };
    let threads = rows.iter().find(|r| r.backend == "cpu").and_then(|r| r.threads);
    let memset = find("baseline", "cpu", "memset", "f32", threads);
    for (scheme, rand, rand_target, memset_target) in
        [("uniform", "rand-uniform", 4.0, 0.5), ("normal", "rand-normal", 4.0, 0.3)]
    {
        let ours = find("cpu", "cpu", scheme, "f32", threads);
        let baseline = find("baseline", "cpu", rand, "f32", None);
        push(format!("cpu {scheme} f32 / {rand}"), ours, baseline, Some(rand_target), false);
        push(format!("cpu {scheme} f32 / memset"), ours, memset, Some(memset_target), false);
    }
    push(
        "cpu uniform f32 1 thread / rand-uniform".into(),
        find("cpu", "cpu", "uniform", "f32", Some(1)),
        find("baseline", "cpu", "rand-uniform", "f32", None),
        None,
        false,
    );
    for scheme in ["trunc_normal", "trunc_normal_2std"] {
        push(format!("cpu {scheme} f32 / memset"), find("cpu", "cpu", scheme, "f32", threads), memset, None, false);
    }
    push("cpu uniform bf16 / memset".into(), find("cpu", "cpu", "uniform", "bf16", threads), memset, None, false);
    // End to end: into a file at 0.7x the rate into memory; and against the folder's own rate.
    for dtype in ["f32", "bf16"] {
        let to_file = rows.iter().find(|r| r.file.is_some() && r.backend == "cpu" && r.dtype == dtype);
        let target = (dtype == "f32").then_some(0.7);
        push(
            format!("cpu normal {dtype} into a file / into memory"),
            to_file,
            find("cpu", "cpu", "normal", dtype, threads),
            target,
            false,
        );
        let write = rows.iter().find(|r| r.file.is_some() && r.backend == "baseline");
        push(format!("cpu normal {dtype} into a file / file-write"), to_file, write, None, false);
    }
    // The same core with each compiled variant: the best one over the others.
    let best = nninit::cpu::CpuVariant::best().name();
    for variant in nninit::cpu::CpuVariant::supported().into_iter().filter(|v| v.name() != best) {
        let adapter = format!("cpu ({})", variant.name());
        for scheme in ["uniform", "normal"] {
            push(
                format!("cpu {scheme} f32 1 thread {best} / {}", variant.name()),
                find("cpu", "cpu", scheme, "f32", Some(1)),
                find("cpu", &adapter, scheme, "f32", Some(1)),
                None,
                false,
            );
        }
    }
    // Against torch.nn.init on the same threads (the targets).
    for (scheme, dtype, target) in [
        ("uniform", "f32", Some(6.0)),
        ("normal", "f32", Some(5.0)),
        ("trunc_normal", "f32", Some(4.0)),
        ("trunc_normal_2std", "f32", None),
        ("normal", "bf16", Some(5.0)),
    ] {
        let ours = find("cpu", "cpu", scheme, dtype, threads);
        let torch = find("torch", "cpu", scheme, dtype, threads);
        let called = format!("{}_({})", scheme.trim_end_matches("_2std"), params(scheme).unwrap_or_default());
        push(format!("cpu {scheme} {dtype} / torch {called}"), ours, torch, target, false);
    }
    // Structured work, same shape: orthogonal in at most 0.7x torch's time, sparse 10x faster.
    for (scheme, side, target) in
        [("orthogonal", 2048u64, None), ("orthogonal", 4096, Some(1.0 / 0.7)), ("sparse", 4096, Some(10.0))]
    {
        let shaped = |backend: &str| {
            rows.iter()
                .find(|r| r.backend == backend && r.scheme == scheme && r.shape.as_deref() == Some(&[side, side][..]))
        };
        push(format!("cpu {scheme} {side}x{side} / torch {scheme}_"), shaped("cpu"), shaped("torch"), target, false);
    }
    // A whole model into memory: nninit's preset against torchvision's constructor.
    push(
        "cpu resnet50 f32 / torchvision resnet50()".into(),
        find("cpu", "cpu", "resnet50", "f32", threads),
        find("torch", "cpu", "resnet50", "f32", threads),
        None,
        false,
    );
    let adapters: Vec<&str> = {
        let mut names: Vec<&str> = rows.iter().filter(|r| r.backend == "gpu").map(|r| r.adapter.as_str()).collect();
        names.dedup();
        names
    };
    for adapter in adapters {
        let short = adapter.split(" (").next().unwrap_or(adapter).to_string()
            + adapter.rsplit_once('(').map_or("", |(_, b)| if b.starts_with("Gl") { " gl" } else { " vulkan" });
        // Each against the f32 constant fill, the adapter's write rate (the targets).
        let constant = find("baseline", adapter, "gpu-constant", "f32", None);
        for (scheme, dtype, target) in [
            ("uniform", "f32", Some(0.6)),
            ("normal", "f32", Some(0.5)),
            ("gpu-constant", "bf16", Some(0.8)),
            ("uniform", "bf16", Some(0.5)),
            ("normal", "bf16", None),
        ] {
            let backend = if scheme == "gpu-constant" { "baseline" } else { "gpu" };
            let ours = find(backend, adapter, scheme, dtype, None);
            let scheme = scheme.trim_start_matches("gpu-");
            push(format!("{short} {scheme} {dtype} / constant f32"), ours, constant, target, true);
        }
    }
    out
}

fn print_tables(rows: &[Row], ratios: &[Ratio], machine: &Machine) {
    for adapter in &machine.adapters {
        outln!("adapter: {} (timestamps: {})", adapter.name, if adapter.timestamps { "yes" } else { "no" });
    }
    if let Some(dir) = rows.iter().find_map(|r| r.file.as_deref()) {
        outln!("files (rows `> file` and `file-write`) written in {dir}");
    }
    outln!();
    outln!(
        "{:<9} {:<44} {:<26} {:<26} {:<5} {:>7} {:>9} {:>10} {:>9}",
        "backend",
        "adapter",
        "scheme",
        "parameters",
        "dtype",
        "threads",
        "wall GB/s",
        "kernel GB/s",
        "Gelem/s"
    );
    for r in rows {
        let scheme = match (&r.shape, &r.file) {
            (Some(shape), _) => {
                format!("{} {}", r.scheme, shape.iter().map(u64::to_string).collect::<Vec<_>>().join("x"))
            }
            (None, Some(_)) if r.backend == "baseline" => r.scheme.to_string(),
            (None, Some(_)) => format!("{} > file", r.scheme),
            (None, None) => r.scheme.to_string(),
        };
        outln!(
            "{:<9} {:<44} {:<26} {:<26} {:<5} {:>7} {:>9.2} {:>10} {:>9.3}",
            r.backend,
            r.adapter,
            scheme,
            r.params.unwrap_or("-"),
            r.dtype,
            r.threads.map_or("-".into(), |t| t.to_string()),
            r.gb_per_s,
            r.kernel_gb_per_s.map_or("-".into(), |k| format!("{k:.2}")),
            r.elements_per_s / 1e9
        );
    }
    outln!();
    for r in ratios {
        let verdict = match r.target {
            Some(t) if r.value >= t => format!("target {}x: met", shown_target(t)),
            Some(t) => format!("target {}x: missed by {:.1}%", shown_target(t), (1.0 - r.value / t) * 100.0),
            None => String::new(),
        };
        outln!("{:<76} {:>7.2}x  ({}) {verdict}", r.name, r.value, r.basis);
    }
}

/// A target as the tables show it: at most two decimals, without trailing zeros (`1/0.7` is
/// `1.43`, `0.5` stays `0.5`, `10` stays `10`).
fn shown_target(target: f64) -> String {
    let shown = format!("{target:.2}");
    shown.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::shown_target;

    #[test]
    fn targets_show_at_most_two_decimals() {
        assert_eq!(shown_target(1.0 / 0.7), "1.43");
        assert_eq!(shown_target(0.5), "0.5");
        assert_eq!(shown_target(0.7), "0.7");
        assert_eq!(shown_target(10.0), "10");
        assert_eq!(shown_target(4.0), "4");
    }
}
