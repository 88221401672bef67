//! `nninit stream`: raw words to stdout, for statistical test batteries.

use std::io::Write;

use nninit::{cpu::CpuBackend, Dtype, Error, Fill, Region, Stream};

/// Words produced per write.
const CHUNK_WORDS: u64 = 1 << 20;

/// Arguments of `nninit stream`.
#[derive(Debug, clap::Args)]
pub struct StreamArgs {
    /// The seed.
    #[arg(long)]
    seed: u64,
    /// The stream number.
    #[arg(long, default_value_t = 0)]
    stream: u64,
    /// Index of the first word (the logical element index).
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Number of words to write.
    #[arg(long)]
    count: u64,
}

/// Checks that the words asked for exist (`offset + count` fits a u64).
pub(super) fn check(args: &StreamArgs) -> nninit::Result<()> {
    match args.offset.checked_add(args.count) {
        Some(_) => Ok(()),
        None => Err(Error::InvalidShape(format!("--offset {} + --count {} overflows u64", args.offset, args.count))),
    }
}

/// Writes `count` words from `offset` to stdout; a closed pipe ends the run quietly.
pub fn run(args: StreamArgs) -> nninit::Result<()> {
    check(&args)?;
    let fill = Fill::raw_words(Stream::new(args.seed, args.stream));
    let cpu = CpuBackend::new();
    let mut out = std::io::stdout().lock();
    // Little-endian u32 words are exactly the bytes of an f32 fill of raw words.
    let mut bytes = vec![0u8; 4 * CHUNK_WORDS.min(args.count) as usize];
    let mut done = 0u64;
    while done < args.count {
        let n = CHUNK_WORDS.min(args.count - done);
        let first = args.offset + done;
        let bytes = &mut bytes[..4 * n as usize];
        cpu.fill(&fill, &Region::Elements(first..first + n), Dtype::F32, bytes)?;
        match out.write_all(bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other.map_err(|source| Error::Io { path: "stdout".into(), source })?,
        }
        done += n;
    }
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|source| Error::Io { path: "stdout".into(), source }),
    }
}
