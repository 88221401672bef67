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
#[command(name = "nninit", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fill one tensor with a scheme and write it to a safetensors file.
    Fill(fill::FillArgs),
    /// Initialize a whole model (preset or spec file) into one safetensors file.
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
    Adapters,
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
        Command::Bench(_) | Command::Inspect(_) | Command::Adapters => Ok(()),
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> nninit::Result<()> {
    match cli.command {
        Command::Fill(args) => fill::run(args),
        Command::Init(args) => init::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Stream(args) => stream::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Gain(args) => plan::gain(args),
        Command::Adapters => device::list_adapters(),
    }
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
