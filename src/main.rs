//! The `nninit` command. Errors are one line on stderr and a non-zero exit.

mod cli;

use clap::Parser;

/// The exit status when `inspect --check` finds a failing check.
const EXIT_CHECK_FAILED: i32 = 3;

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
    // clap's whole message (usage, missing arguments, suggestions); status 2 for bad usage, 0
    // for --help and --version.
    let cli = cli::Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(cli.log_level()))
        .format_timestamp(None)
        .init();
    match cli::run(cli) {
        Ok(cli::Outcome::Done) => {}
        Ok(cli::Outcome::ChecksFailed) => std::process::exit(EXIT_CHECK_FAILED),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
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
