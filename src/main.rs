//! The `nninit` command. Errors are one line on stderr and a non-zero exit.

mod cli;

use clap::Parser;

fn main() {
    quiet_headless_wayland_probe();
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
