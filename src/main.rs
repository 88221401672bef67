//! The `nninit` command. Errors are one line on stderr and a non-zero exit.

mod cli;

use clap::Parser;

/// The exit status when `inspect --check` finds a failing check.
const EXIT_CHECK_FAILED: i32 = 3;

/// The exit status after SIGINT or SIGTERM (128 + SIGINT, as shells report an interrupt).
const EXIT_INTERRUPTED: i32 = 130;

fn main() {
    quiet_headless_wayland_probe();
    // On SIGINT or SIGTERM, no output is left half-written: a commit under way finishes, the
    // temporary files of every other write are removed, and nothing is put in place afterwards
    // (each target keeps its old contents).
    let _ = ctrlc::set_handler(|| {
        match nninit::io::interrupt_writes() {
            0 => eprintln!("error: interrupted; no output was written"),
            _ => eprintln!("error: interrupted after the output was complete and in place"),
        }
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
        // An error after an interrupt is the interrupt's doing (a temporary file it removed):
        // the handler ends the process with its own status and line.
        Err(_) if nninit::io::writes_interrupted() => loop {
            std::thread::park();
        },
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
