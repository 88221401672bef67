//! `nninit bench --torch`: `torch.nn.init` itself, measured in a Python subprocess on the same
//! sizes and thread count, as rows with backend `torch`.

use std::process::Command;

use nninit::{Dtype, Error};

use super::measure::{row, Config, Row};

/// The script run in Python (one JSON object on argv, one JSON document on stdout).
const SCRIPT: &str = include_str!("torch_init.py");

/// What the script reports for one case.
#[derive(serde::Deserialize)]
struct TorchRow {
    scheme: String,
    dtype: String,
    shape: Vec<u64>,
    bytes: u64,
    seconds: f64,
}

#[derive(serde::Deserialize)]
struct Report {
    torch: Option<String>,
    rows: Option<Vec<TorchRow>>,
    error: Option<String>,
}

/// Runs the script with `python` and returns its rows and torch's version.
pub fn torch_rows(python: &str, config: Config, threads: usize, quick: bool) -> nninit::Result<(Vec<Row>, String)> {
    let request =
        serde_json::json!({"elements": config.bytes / 4, "threads": threads, "reps": config.reps, "quick": quick});
    let output = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(request.to_string())
        .output()
        .map_err(|e| Error::InvalidParameter(format!("--torch: could not run {python}: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Report = serde_json::from_str(stdout.trim()).map_err(|_| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("no output");
        Error::InvalidParameter(format!("--torch: {python} failed ({}): {last}", output.status))
    })?;
    if let Some(error) = report.error {
        return Err(Error::InvalidParameter(format!("--torch: {python}: {error}")));
    }
    let mut rows = Vec::new();
    for r in report.rows.unwrap_or_default() {
        let scheme = match r.scheme.as_str() {
            "uniform" => "uniform",
            "normal" => "normal",
            "trunc_normal" => "trunc_normal",
            "trunc_normal_2std" => "trunc_normal_2std",
            "kaiming_normal" => "kaiming_normal",
            "orthogonal" => "orthogonal",
            "sparse" => "sparse",
            "resnet50" => "resnet50",
            other => return Err(Error::InvalidParameter(format!("--torch: unexpected scheme {other}"))),
        };
        let dtype = if r.dtype == "bf16" { Dtype::Bf16 } else { Dtype::F32 };
        let mut measured = row("torch", "cpu".into(), scheme, dtype, Some(threads), r.bytes, r.seconds, None);
        measured.shape = (r.shape.len() > 1).then_some(r.shape);
        rows.push(measured);
    }
    Ok((rows, report.torch.unwrap_or_default()))
}

/// Checks that `python` runs and imports torch, in a second or two.
pub fn check(python: &str) -> nninit::Result<()> {
    let output = Command::new(python)
        .args(["-c", "import torch"])
        .output()
        .map_err(|e| Error::InvalidParameter(format!("--torch: could not run {python}: {e}")))?;
    if !output.status.success() {
        return Err(Error::InvalidParameter(format!(
            "--torch: {python} cannot import torch (pip install torch, or give --torch PYTHON)"
        )));
    }
    Ok(())
}
