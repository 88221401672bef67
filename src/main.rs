//! The `nninit` command. Errors are one line on stderr and a non-zero exit.

mod cli;

use clap::Parser;

/// The exit status after SIGINT or SIGTERM (128 + SIGINT, as shells report an interrupt).
const EXIT_INTERRUPTED: i32 = 130;

fn main() {
    quiet_headless_wayland_probe();
    // On SIGINT or SIGTERM, no output file is left half-written: the temporary files of writes
    // in progress are removed before the process ends (the target keeps its old contents).
    let _ = ctrlc::set_handler(|| {
        nninit::io::remove_unfinished();
        eprintln!("error: interrupted; no output was written");
        std::process::exit(EXIT_INTERRUPTED);
    });
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let message = e.to_string();
            eprintln!("{}", message.lines().next().unwrap_or("invalid arguments"));
            std::process::exit(2);
        }
    };
    if let Err(e) = cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Mesa's Vulkan driver probes Wayland while adapters are enumerated, and libwayland prints
/// "error: XDG_RUNTIME_DIR is invalid or not set" on headless machines where that variable is
/// unset. Any absolute path makes the probe fail quietly instead, so errors stay one line. This runs
/// first in `main`, before any thread exists, and only when the variable is unset.
fn quiet_headless_wayland_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
}
