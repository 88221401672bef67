//! What `nninit bench` records about the machine: date, CPU, threads, adapters.

use std::time::{SystemTime, UNIX_EPOCH};

/// The machine a benchmark ran on.
#[derive(Debug, serde::Serialize)]
pub struct Machine {
    /// UTC date of the run, `YYYY-MM-DD`.
    pub date: String,
    /// The CPU's model name.
    pub cpu: String,
    /// The CPU's instruction-set extensions that nninit can use (`/proc/cpuinfo` names).
    pub cpu_features: Vec<&'static str>,
    /// The CPU backend's compiled variant (`avx512`, `avx2` or `baseline`).
    pub cpu_variant: &'static str,
    /// Threads the CPU backend uses.
    pub threads: usize,
    /// The operating system.
    pub os: &'static str,
    /// nninit's version.
    pub nninit: &'static str,
    /// Every adapter found, with whether it has timestamp queries.
    pub adapters: Vec<AdapterInfo>,
}

/// One adapter.
#[derive(Debug, serde::Serialize)]
pub struct AdapterInfo {
    /// Name, backend and device type.
    pub name: String,
    /// Whether GPU timestamps (`TIMESTAMP_QUERY`) are available, so kernel time is measured.
    pub timestamps: bool,
    /// Invocations per workgroup of the fill kernels.
    pub workgroup_size: u32,
}

impl Machine {
    /// Reads the machine's description.
    pub fn read(threads: usize, adapters: Vec<AdapterInfo>) -> Self {
        Self {
            date: utc_date(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)),
            cpu: cpu_model(),
            cpu_features: nninit::cpu::cpu_features(),
            cpu_variant: nninit::cpu::CpuVariant::best().name(),
            threads,
            os: std::env::consts::OS,
            nninit: env!("CARGO_PKG_VERSION"),
            adapters,
        }
    }
}

/// The CPU model from `/proc/cpuinfo` (Linux), else the architecture.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// `YYYY-MM-DD` for `seconds` since the Unix epoch (Howard Hinnant's civil-from-days).
fn utc_date(seconds: u64) -> String {
    let z = (seconds / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(super::utc_date(0), "1970-01-01");
        assert_eq!(super::utc_date(951_782_400), "2000-02-29");
        assert_eq!(super::utc_date(1_795_000_000), "2026-11-18");
    }
}
