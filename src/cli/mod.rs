//! The `nninit` command line: argument definitions and dispatch to one module per subcommand.

/// `println!` that ends the run quietly when stdout is a closed pipe (`nninit inspect f | head`)
/// instead of panicking.
macro_rules! outln {
    () => {
        $crate::cli::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))
    };
}

/// A human line: on stdout, or on stderr when `$json` (stdout then holds one JSON document).
macro_rules! sayln {
    ($json:expr, $($arg:tt)*) => {
        if $json {
            eprintln!($($arg)*);
        } else {
            $crate::cli::write_line(format_args!($($arg)*));
        }
    };
}

mod bench;
mod device;
mod fill;
mod init;
mod inspect;
mod plan;
mod plot;
mod progress;
mod scheme_args;
mod stream;

use clap::{Parser, Subcommand};

/// nninit: torch.nn.init on the GPU, with a bit-compatible CPU backend.
#[derive(Debug, Parser)]
#[command(name = "nninit", version, about, arg_required_else_help = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log messages (-v info, -vv debug, -vvv trace; RUST_LOG overrides), wgpu's among them.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Errors only: no progress bars, no log messages but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

impl Cli {
    /// The log filter the flags ask for (`RUST_LOG` takes precedence). Without `-v`, wgpu-hal's
    /// messages are left out: adapter discovery logs an error for every platform that fails to
    /// load (an EGL display without a driver, say) even when another serves.
    pub fn log_level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error,wgpu_hal=off",
            (false, 0) => "warn,wgpu_hal=off",
            (false, 1) => "info",
            (false, 2) => "debug",
            (false, _) => "trace",
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fill one tensor with a scheme and write it to a safetensors file.
    Fill(fill::FillArgs),
    /// Initialize a whole model (preset, spec, HF config.json, or --like a checkpoint) into a
    /// safetensors file or Hugging Face shards.
    Init(init::InitArgs),
    /// Measure nninit on each adapter and the CPU against memset, rand and a GPU constant fill.
    Bench(bench::BenchArgs),
    /// Statistics of every tensor of a safetensors file, checked against how it was made.
    Inspect(inspect::InspectArgs),
    /// Print a scheme's resolved numbers for a shape (fan_in, fan_out, gain, std, bound).
    Plan(plan::PlanArgs),
    /// Print torch.nn.init.calculate_gain(NONLINEARITY, param).
    Gain(plan::GainArgs),
    /// Write the raw u32 words of a stream, little-endian, to stdout.
    Stream(stream::StreamArgs),
    /// List the GPU adapters found, best first.
    Adapters(device::AdaptersArgs),
    /// Print a shell completion script (e.g. `nninit completions bash > /etc/bash_completion.d/nninit`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The exit statuses, as `--help` shows them.
pub const EXIT_CODES: &str = "Exit status: 0 success; 1 an error (one line on stderr); 2 bad usage; \
3 `inspect --check` found a failing check; 130 interrupted (SIGINT or SIGTERM), no output written.";

/// How a command that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Done,
    /// `inspect --check` ran, and a check failed.
    ChecksFailed,
}

/// Checks what a command line asks for without running it: schemes, shapes, shards, sizes and
/// parameters resolved; no device opened, no file written (a spec or rules file is read). The
/// fuzz target `cli` (which compiles this module) runs it on arbitrary argument lists; each
/// command runs the same checks first.
#[allow(dead_code)]
pub fn check(cli: &Cli) -> nninit::Result<()> {
    match &cli.command {
        Command::Fill(args) => fill::check(args).map(drop),
        Command::Init(args) => init::check(args).map(drop),
        Command::Plan(args) => plan::check(args).map(drop),
        Command::Gain(args) => plan::check_gain(args).map(drop),
        Command::Stream(args) => stream::check(args),
        Command::Bench(_) | Command::Inspect(_) | Command::Adapters(_) | Command::Completions { .. } => Ok(()),
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> nninit::Result<Outcome> {
    progress::set_quiet(cli.quiet);
    let done = match cli.command {
        Command::Fill(args) => fill::run(args),
        Command::Init(args) => init::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Inspect(args) => return inspect::run(args),
        Command::Stream(args) => stream::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Gain(args) => plan::gain(args),
        Command::Adapters(args) => device::list_adapters(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "nninit", &mut std::io::stdout());
            Ok(())
        }
    };
    done.map(|()| Outcome::Done)
}

/// Writes one line to stdout; a closed pipe exits quietly with status 0.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: stdout: {e}");
        std::process::exit(1);
    }
}
