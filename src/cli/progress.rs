//! A progress bar on stderr, drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redraws at most this often.
const REDRAW: Duration = Duration::from_millis(100);

/// `[#########---------]  45%  1.21 / 2.68 GB  1.53 GB/s  ETA 1 s`, redrawn in place.
pub struct ProgressBar {
    enabled: bool,
    started: Instant,
    drawn: Option<Instant>,
}

impl ProgressBar {
    /// A bar that draws when stderr is a terminal and `wanted`.
    pub fn new(wanted: bool) -> Self {
        Self { enabled: wanted && std::io::stderr().is_terminal(), started: Instant::now(), drawn: None }
    }

    /// Shows `done` of `total` bytes.
    pub fn update(&mut self, done: u64, total: u64) {
        if !self.enabled || self.drawn.is_some_and(|t| t.elapsed() < REDRAW) && done < total {
            return;
        }
        self.drawn = Some(Instant::now());
        let fraction = if total == 0 { 1.0 } else { done as f64 / total as f64 };
        let width = 30;
        let filled = (fraction * width as f64).round() as usize;
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = done as f64 / seconds;
        let eta = if rate > 0.0 { (total - done) as f64 / rate } else { 0.0 };
        let _ = write!(
            std::io::stderr(),
            "\r[{}{}] {:3.0}%  {:.2} / {:.2} GB  {:.2} GB/s  ETA {:.0} s  ",
            "#".repeat(filled),
            "-".repeat(width - filled),
            fraction * 100.0,
            done as f64 / 1e9,
            total as f64 / 1e9,
            rate / 1e9,
            eta
        );
    }

    /// Clears the bar's line.
    pub fn finish(&self) {
        if self.enabled && self.drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r{}\r", " ".repeat(80));
        }
    }
}
