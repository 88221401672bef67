//! Progress bars on stderr (indicatif), only when stderr is a terminal and `--quiet` is absent.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by `--quiet`: no bar anywhere.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns every bar off (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A bar, or nothing on a pipe or with `--quiet`; cleared when finished or dropped.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(make: impl FnOnce() -> indicatif::ProgressBar) -> Self {
        let shown = !QUIET.load(Ordering::Relaxed) && std::io::stderr().is_terminal();
        Self(shown.then(make))
    }

    /// Bytes of a run: `[####----]  45%  1.21 GB / 2.68 GB  1.53 GB/s  ETA 1s`.
    pub fn bytes(label: &str) -> Self {
        Self::new(|| {
            let style = indicatif::ProgressStyle::with_template(
                "{prefix} [{wide_bar}] {percent:>3}%  {decimal_bytes} / {decimal_total_bytes}  {decimal_bytes_per_sec}  ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("#>-");
            indicatif::ProgressBar::new(0).with_style(style).with_prefix(label.to_string())
        })
    }

    /// Steps of a run (tensors, measurements), with a message naming the current one.
    pub fn steps(label: &str, total: u64) -> Self {
        Self::new(|| {
            let style = indicatif::ProgressStyle::with_template("{prefix} [{wide_bar}] {pos}/{len}  {elapsed}  {msg}")
                .expect("a valid template")
                .progress_chars("#>-");
            let bar = indicatif::ProgressBar::new(total).with_style(style).with_prefix(label.to_string());
            // The elapsed time moves even while one long step runs.
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        })
    }

    /// Shows `done` of `total`.
    pub fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// One step done.
    pub fn step(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    /// Replaces the message.
    pub fn message(&self, message: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.to_string());
        }
    }

    /// Runs `f` (which prints) with the bar hidden, then redraws it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
