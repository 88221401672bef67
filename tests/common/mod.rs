//! Shared test support: every adapter on this machine, buffers with guard bytes, read-back.
#![allow(dead_code)]

use std::sync::OnceLock;

use nninit::gpu::{read_buffer_blocking, GpuContext, GpuFiller, GpuTarget};
use nninit::{Dtype, Fill, Region, Scheme, Stream};

/// The stdout of a command that succeeded (its stderr in the panic message otherwise).
pub fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A one-line error on stderr that says `says`, and exit status 1.
pub fn fails(out: &std::process::Output, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(says), "{stderr:?} lacks {says:?}");
}

/// A scratch folder named for the test (`nninit-{name}-…` under the system temp dir), removed
/// with everything in it when the returned guard drops, whether the test passes or panics.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("nninit-{name}-")).tempdir().expect("a scratch folder")
}

/// A scratch file path (`nninit-…{name}` under the system temp dir, created empty), removed when
/// the returned guard drops; it derefs to `&Path`.
pub fn scratch_file(name: &str) -> tempfile::TempPath {
    tempfile::Builder::new()
        .prefix("nninit-")
        .suffix(&format!("-{name}"))
        .tempfile()
        .expect("a scratch file")
        .into_temp_path()
}

/// The guard word put around (and under) every written range.
pub const GUARD: u32 = 0xA5A5_5A5A;

/// One context per adapter found. No adapter is a failure, never a skip; with
/// `NNINIT_REQUIRE_BACKENDS=vulkan,gl` (as in CI) each named backend must be present.
pub fn contexts() -> &'static [GpuContext] {
    static CONTEXTS: OnceLock<Vec<GpuContext>> = OnceLock::new();
    CONTEXTS.get_or_init(|| {
        let contexts: Vec<GpuContext> = nninit::gpu::adapters_blocking()
            .iter()
            .map(|a| GpuContext::from_adapter_blocking(a, a.limits()).expect("device on a listed adapter"))
            .collect();
        assert!(!contexts.is_empty(), "no GPU adapter found: install mesa-vulkan-drivers (lavapipe) or a GPU driver");
        if let Ok(required) = std::env::var("NNINIT_REQUIRE_BACKENDS") {
            for backend in required.split(',').filter(|b| !b.is_empty()) {
                assert!(
                    contexts.iter().any(|c| format!("{:?}", c.info.backend).eq_ignore_ascii_case(backend)),
                    "NNINIT_REQUIRE_BACKENDS names {backend}, but no such adapter was found"
                );
            }
        }
        for c in &contexts {
            eprintln!("adapter: {} multiply {:?}", nninit::gpu::describe(&c.info), c.filler.multiply());
        }
        contexts
    })
}

/// A storage buffer of `words` 32-bit words, all [`GUARD`].
pub fn guarded_buffer(ctx: &GpuContext, words: usize) -> wgpu::Buffer {
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("test target"),
        size: (words * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: true,
    });
    buffer.slice(..).get_mapped_range_mut().unwrap().copy_from_slice(bytemuck::cast_slice(&vec![GUARD; words]));
    buffer.unmap();
    buffer
}

/// Fills elements `first .. first + count` at word `at` of a guarded buffer of `at + count + tail`
/// words, checks that every word outside them still holds the guard, and returns the written words.
pub fn fill_guarded(ctx: &GpuContext, fill: &Fill, first: u64, count: usize, at: usize, tail: usize) -> Vec<u32> {
    let bytes = fill_guarded_as(ctx, fill, Dtype::F32, first, count, at, tail);
    bytemuck::pod_collect_to_vec(&bytes)
}

/// As [`fill_guarded`], for any dtype: `at` and `tail` count elements of `dtype`, so 16-bit fills
/// can start and end in the middle of a 32-bit word. Returns the written bytes.
pub fn fill_guarded_as(
    ctx: &GpuContext,
    fill: &Fill,
    dtype: Dtype,
    first: u64,
    count: usize,
    at: usize,
    tail: usize,
) -> Vec<u8> {
    fill_guarded_by(ctx, &ctx.filler, fill, dtype, first, count, at, tail)
}

/// As [`fill_guarded_as`], with a filler of the caller's on `ctx`'s device.
#[allow(clippy::too_many_arguments)]
pub fn fill_guarded_by(
    ctx: &GpuContext,
    filler: &GpuFiller,
    fill: &Fill,
    dtype: Dtype,
    first: u64,
    count: usize,
    at: usize,
    tail: usize,
) -> Vec<u8> {
    let size = dtype.size() as usize;
    let bytes = ((at + count + tail) * size).next_multiple_of(4).max(4);
    let buffer = guarded_buffer(ctx, bytes / 4);
    let region = Region::Elements(first..first + count as u64);
    let target = GpuTarget { buffer: &buffer, byte_offset: (at * size) as u64, region, dtype };
    record_and_wait(ctx, |encoder| filler.record(encoder, fill, &target)).expect("fill");
    let all = read_buffer_blocking(&ctx.device, &ctx.queue, &buffer, 0..buffer.size()).expect("read back");
    let guard: Vec<u8> = GUARD.to_le_bytes().iter().copied().cycle().take(bytes).collect();
    let (start, end) = (at * size, (at + count) * size);
    let name = nninit::gpu::describe(&ctx.info);
    assert!(all[..start] == guard[..start], "{name} {dtype:?}: guard before the range was written");
    assert!(all[end..] == guard[end..], "{name} {dtype:?}: guard after the range was written");
    all[start..end].to_vec()
}

/// The CPU backend's words for the same elements.
pub fn cpu_words(fill: &Fill, first: u64, count: usize) -> Vec<u32> {
    let mut out = vec![0u32; count];
    let region = Region::Elements(first..first + count as u64);
    let bytes = bytemuck::cast_slice_mut(&mut out);
    nninit::cpu::CpuBackend::new().fill(fill, &region, Dtype::F32, bytes).expect("CPU fill");
    out
}

/// `scheme` over a 1-D tensor of `usize::MAX` elements: any element range of an element-wise
/// scheme's stream.
pub fn flat(scheme: &Scheme, stream: Stream) -> Fill {
    Fill::new(scheme, &[usize::MAX], stream).expect("an element-wise scheme")
}

/// Records with `record` into a fresh encoder, submits, and waits for the GPU.
pub fn record_and_wait(
    ctx: &GpuContext,
    record: impl FnOnce(&mut wgpu::CommandEncoder) -> nninit::Result<()>,
) -> nninit::Result<()> {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    record(&mut encoder)?;
    let index = ctx.queue.submit([encoder.finish()]);
    let until = wgpu::PollType::Wait { submission_index: Some(index), timeout: None };
    ctx.device.poll(until).map_err(|e| nninit::Error::Gpu(e.to_string()))?;
    Ok(())
}
