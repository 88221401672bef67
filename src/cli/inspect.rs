//! `nninit inspect`: statistics of every tensor of any safetensors file or checkpoint (a
//! directory or an index and its shards, as one model), checks against how an nninit file says
//! each was made, and histograms with the expected density.

use std::path::{Path, PathBuf};

use nninit::inspect::{inspect, Made, TensorReport};
use nninit::io::Checkpoint;
use nninit::Error;

use super::plot::histogram_chart;
use super::progress::Progress;

/// Arguments of `nninit inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A safetensors file (nninit's, PyTorch's, anyone's), or a checkpoint: a directory holding
    /// model.safetensors or model.safetensors.index.json, or the index itself (every shard is
    /// inspected, as one model).
    file: PathBuf,
    /// Only this tensor (repeatable).
    #[arg(long)]
    tensor: Vec<String>,
    /// Write one PNG per tensor into this folder: the histogram with the expected density.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Print one JSON object {"file": ..., "metadata": ..., "tensors": [...]} instead of text.
    #[arg(long)]
    json: bool,
    /// Exit with status 3 when a check fails (1 is an error, such as a file that cannot be read).
    #[arg(long)]
    check: bool,
}

/// Runs `nninit inspect`.
pub fn run(args: InspectArgs) -> nninit::Result<super::Outcome> {
    let checkpoint = Checkpoint::open(&args.file)?;
    let entries: Vec<_> =
        checkpoint.files().iter().flat_map(|file| file.entries().iter().map(move |e| (file, e))).collect();
    for name in &args.tensor {
        if !entries.iter().any(|(_, e)| &e.name == name) {
            return Err(Error::InvalidParameter(format!("{}: no tensor named {name}", args.file.display())));
        }
    }
    let selected: Vec<_> =
        entries.into_iter().filter(|(_, e)| args.tensor.is_empty() || args.tensor.contains(&e.name)).collect();
    let mut reports = Vec::new();
    let mut not_inspected = Vec::new();
    // The file's order for the text output: a report's index, or the line of a tensor left out.
    let mut order: Vec<std::result::Result<usize, String>> = Vec::new();
    let progress = Progress::steps("inspect", selected.len() as u64);
    for (file, entry) in selected {
        progress.message(&entry.name);
        let inspected = inspect(file, entry);
        progress.step();
        match inspected {
            Ok(report) => {
                order.push(Ok(reports.len()));
                reports.push(report);
            }
            // A dtype nninit cannot decode leaves that tensor out, not the file.
            Err(Error::SafeTensors(why)) => {
                order.push(Err(format!("{} {:?} {:?}: not inspected ({why})", entry.name, entry.dtype, entry.shape)));
                not_inspected
                    .push(serde_json::json!({"name": entry.name, "dtype": format!("{:?}", entry.dtype), "why": why}));
            }
            Err(e) => return Err(e),
        }
    }
    drop(progress);
    // Each KS check's verdict depends on all of them (Holm), so reports print once all are in.
    nninit::inspect::adjust_for_multiple_tests(&mut reports);
    if !args.json {
        for item in &order {
            match item {
                Ok(index) => print_report(&reports[*index]),
                Err(line) => outln!("{line}"),
            }
        }
    }
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
        let progress = Progress::steps("plot", reports.len() as u64);
        for report in &reports {
            progress.message(&report.name);
            plot(report, dir)?;
            progress.step();
        }
    }
    if args.json {
        // The metadata that describes no one tensor, as the first file has it (every shard of
        // nninit's has the same).
        let metadata = checkpoint.files()[0].metadata();
        let shared: std::collections::BTreeMap<_, _> =
            metadata.iter().filter(|(k, _)| !k.starts_with(nninit::io::TENSOR_METADATA_PREFIX)).collect();
        let files: Vec<_> = checkpoint.files().iter().map(|f| f.path().display().to_string()).collect();
        let json = serde_json::json!({
            "file": args.file.display().to_string(),
            "files": files,
            "metadata": shared,
            "tensors": reports,
            "not_inspected": not_inspected,
        });
        outln!("{}", serde_json::to_string_pretty(&json).expect("reports serialize"));
    } else {
        let failed = reports.iter().filter(|r| !r.passed()).count();
        let checked = reports.iter().filter(|r| !r.checks.is_empty()).count();
        let skipped =
            if not_inspected.is_empty() { String::new() } else { format!(", {} not inspected", not_inspected.len()) };
        let files = match checkpoint.files().len() {
            1 => String::new(),
            n => format!(" in {n} shards"),
        };
        outln!(
            "{} tensors{files}, {checked} checked against how they were made, {failed} failed{skipped}",
            reports.len()
        );
    }
    if args.check && reports.iter().any(|r| !r.passed()) {
        return Ok(super::Outcome::ChecksFailed);
    }
    Ok(super::Outcome::Done)
}

fn made_line(report: &TensorReport) -> Option<String> {
    match report.made.as_ref()? {
        Made::Pretrained { file, key } => Some(format!("made: copied from {file} ({key})")),
        Made::Scheme { scheme, full_shape, shard, zero_row, .. } => {
            let json = scheme.to_string();
            let of = match shard {
                Some(shard) => {
                    let range = |r: &Option<std::ops::Range<u64>>| match r {
                        Some(r) => format!("{}:{}", r.start, r.end),
                        None => "all".into(),
                    };
                    format!(" (rows {}, columns {} of {full_shape:?})", range(&shard.rows), range(&shard.cols))
                }
                None => String::new(),
            };
            let of = match zero_row {
                Some(row) if shard.is_some() => format!("{of}, the shard's row {row} zeros (padding_idx)"),
                Some(row) => format!("{of}, row {row} zeros (padding_idx)"),
                None => of,
            };
            let expected = match (&report.expected, report.expected_moments) {
                (Some(d), Some((mean, std))) => format!(" -> {}; expected mean {mean:.6}, std {std:.6}", d.describe()),
                _ => String::new(),
            };
            Some(format!("made: {json}{of}{expected}"))
        }
    }
}

fn summary_line(report: &TensorReport) -> String {
    let s = &report.summary;
    let non_finite = if s.non_finite > 0 { format!(", {} NaN/inf", s.non_finite) } else { String::new() };
    format!(
        "mean {:.6}, std {:.6}, min {:.6}, max {:.6}, zeros {:.4}%{non_finite}",
        s.mean,
        s.std,
        s.min,
        s.max,
        s.zero_fraction() * 100.0
    )
}

fn print_report(report: &TensorReport) {
    outln!("{} {} {:?} ({} elements)", report.name, report.dtype, report.shape, report.summary.count);
    outln!("  {}", summary_line(report));
    if let Some(line) = made_line(report) {
        outln!("  {line}");
    }
    for check in &report.checks {
        outln!("  {}", check.describe());
    }
}

fn plot(report: &TensorReport, dir: &Path) -> nninit::Result<()> {
    let mut notes = vec![summary_line(report)];
    notes.extend(made_line(report));
    notes.extend(report.checks.iter().map(|c| c.describe()));
    let title = format!("{} {} {:?}", report.name, report.dtype, report.shape);
    let density = report.expected.as_ref().map(|d| move |x: f64| d.pdf(x));
    let density_ref: Option<&dyn Fn(f64) -> f64> = density.as_ref().map(|f| f as &dyn Fn(f64) -> f64);
    let file_name: String =
        report.name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    histogram_chart(&title, &notes, &report.histogram, density_ref).save(&dir.join(format!("{file_name}.png")))
}
