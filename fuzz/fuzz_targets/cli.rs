//! The command line's parsing of shapes, shards, sizes and parameters: any argument list (the
//! input split at NUL bytes) parsed by clap and checked as the commands check it before running.
#![no_main]

// The binary's command-line modules, compiled here as they are in `nninit`.
#[allow(dead_code, unused_macros)]
#[path = "../../src/cli/mod.rs"]
mod cli;

use clap::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let args: Vec<&str> = std::iter::once("nninit").chain(text.split('\0')).collect();
    // Bounded work per input: no number of more than five digits (a transformer of 10^9 layers
    // is a memory test, not a parsing one; tests/faults.rs runs that one).
    if args.iter().any(|a| a.split(|c: char| !c.is_ascii_digit()).any(|digits| digits.len() > 5)) {
        return;
    }
    if let Ok(parsed) = cli::Cli::try_parse_from(args) {
        let _ = cli::check(&parsed);
    }
});
