//! The `nninit` command line: argument definitions and dispatch to one module per subcommand.

mod device;
mod fill;
mod init;
mod plan;
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
    /// Print a scheme's resolved numbers for a shape (fan_in, fan_out, gain, std, bound).
    Plan(plan::PlanArgs),
    /// Print torch.nn.init.calculate_gain(NONLINEARITY, param).
    Gain(plan::GainArgs),
    /// Write the raw u32 words of a stream, little-endian, to stdout.
    Stream(stream::StreamArgs),
    /// List the GPU adapters found, best first.
    Adapters,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> nninit::Result<()> {
    match cli.command {
        Command::Fill(args) => fill::run(args),
        Command::Init(args) => init::run(args),
        Command::Stream(args) => stream::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Gain(args) => plan::gain(args),
        Command::Adapters => device::list_adapters(),
    }
}
