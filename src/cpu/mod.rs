//! Layer 3, the CPU backend: the same stream and the same values as the GPU, on all cores.

use std::ops::Range;

use crate::contract::batch;
use crate::contract::dtype::Dtype;
pub use crate::contract::isa::{cpu_features, CpuVariant};
use crate::contract::stream::Stream;
use crate::error::{Error, Result};
use crate::parallel;
use crate::scheme::{Fill, Prepared, Region};

/// Elements converted per step when the output is not f32 words.
const CONVERT_CHUNK: usize = 4096;

/// Makes one piece in the buffer it is given: what a [`Lend`] hands a buffer to.
pub(crate) type Make<'m> = dyn FnMut(&mut [u8]) -> Result<()> + 'm;

/// Lends a buffer of the given number of bytes to a [`Make`], then takes the piece made in it.
pub(crate) type Lend<'l> = dyn FnMut(usize, &mut Make<'_>) -> Result<()> + 'l;

/// The first `bytes` bytes of `buffer`, grown (fallibly) when it is shorter.
pub(crate) fn lend_from<'b>(buffer: &'b mut Vec<u8>, bytes: usize, what: &str) -> Result<&'b mut [u8]> {
    if buffer.len() < bytes {
        buffer
            .try_reserve_exact(bytes - buffer.len())
            .map_err(|_| Error::OutOfMemory { what: format!("{bytes} bytes for {what}") })?;
        buffer.resize(bytes, 0);
    }
    Ok(&mut buffer[..bytes])
}

/// Fills host memory with nninit's stream, on a fixed number of threads.
///
/// Values are bit-identical to the GPU engine's, every scheme and dtype (the table in docs/contract.md).
///
/// ```
/// use nninit::{cpu::CpuBackend, Dtype, Fill, Region, Scheme, Stream};
/// let fill = Fill::new(&Scheme::uniform(-1.0, 1.0)?, &[1000], Stream::new(1, 0))?;
/// let mut w = vec![0f32; 1000];
/// CpuBackend::new().fill(&fill, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut w))?;
/// assert!(w.iter().all(|&x| (-1.0..1.0).contains(&x)));
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CpuBackend {
    threads: usize,
    variant: CpuVariant,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuBackend {
    /// A backend using every core the OS reports.
    pub fn new() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { threads, variant: CpuVariant::best() }
    }

    /// A backend using exactly `threads` threads (at least one).
    pub fn with_threads(threads: usize) -> Self {
        Self { threads: threads.max(1), variant: CpuVariant::best() }
    }

    /// The same backend running `variant`'s code (the same values, another speed), for tests and
    /// benchmarks; [`Error::InvalidParameter`] if this CPU cannot run it.
    ///
    /// ```
    /// use nninit::cpu::{CpuBackend, CpuVariant};
    /// let baseline = CpuBackend::new().with_variant(CpuVariant::Baseline)?;
    /// assert_eq!(baseline.variant(), CpuVariant::Baseline);
    /// # Ok::<(), nninit::Error>(())
    /// ```
    pub fn with_variant(self, variant: CpuVariant) -> Result<Self> {
        if !variant.is_supported() {
            return Err(Error::InvalidParameter(format!(
                "this CPU cannot run the {} variant (it can run: {})",
                variant.name(),
                CpuVariant::supported().iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Self { variant, ..self })
    }

    /// The number of threads used.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The compiled variant used: [`CpuVariant::best`] unless set by [`CpuBackend::with_variant`].
    pub fn variant(&self) -> CpuVariant {
        self.variant
    }

    /// Writes `region` of `fill` into `out` as little-endian `dtype` (f32 values rounded to
    /// nearest-even for f16 and bf16), the region's elements one after the other in their
    /// row-major order. `out` must hold exactly the region's elements.
    pub fn fill(&self, fill: &Fill, region: &Region, dtype: Dtype, out: &mut [u8]) -> Result<()> {
        self.fill_segments(fill, &fill.segments(region)?, dtype, out)
    }

    /// Fills `region` of `fill` and hands it to `sink` in order, as little-endian `dtype`, in
    /// pieces of at most `piece_bytes` (one buffer, reused): memory stays bounded whatever the
    /// region's size.
    pub fn fill_streamed(
        &self,
        fill: &Fill,
        region: &Region,
        dtype: Dtype,
        piece_bytes: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut buffer = Vec::new();
        self.fill_lent(fill, region, dtype, piece_bytes, &mut |bytes, make| {
            let part = lend_from(&mut buffer, bytes, "a piece of the fill")?;
            make(part)?;
            sink(part)
        })
    }

    /// [`CpuBackend::fill_streamed`] into buffers the caller lends: for each piece in order,
    /// `lend(bytes, make)` hands `make` a buffer of `bytes` bytes to fill. A file writer lends
    /// the very buffer it will write, so no piece is copied.
    pub(crate) fn fill_lent(
        &self,
        fill: &Fill,
        region: &Region,
        dtype: Dtype,
        piece_bytes: u64,
        lend: &mut Lend<'_>,
    ) -> Result<()> {
        let size = dtype.size();
        let capacity = (piece_bytes / size).max(1);
        for batch in crate::scheme::batches(fill.segments(region)?, capacity) {
            let count: u64 = batch.iter().map(|s| s.end - s.start).sum();
            lend((count * size) as usize, &mut |part| self.fill_segments(fill, &batch, dtype, part))?;
        }
        Ok(())
    }

    /// Writes the logical element ranges `segments` of `fill` into `out`, one after the other.
    pub(crate) fn fill_segments(
        &self,
        fill: &Fill,
        segments: &[Range<u64>],
        dtype: Dtype,
        out: &mut [u8],
    ) -> Result<()> {
        let size = dtype.size() as usize;
        let total = segments.iter().try_fold(0u64, |n, s| n.checked_add(s.end.saturating_sub(s.start)));
        if total.and_then(|n| n.checked_mul(size as u64)) != Some(out.len() as u64) {
            return Err(Error::InvalidTarget(format!(
                "{} bytes do not hold the region's {} {} elements",
                out.len(),
                total.map_or("too many".into(), |n| n.to_string()),
                dtype.name()
            )));
        }
        let mut rest = out;
        for segment in segments {
            for (piece, zeroed) in fill.cut_at_zero_row(segment) {
                let (part, tail) = rest.split_at_mut((piece.end - piece.start) as usize * size);
                if zeroed {
                    part.fill(0);
                } else {
                    self.fill_range(part, piece.start, fill, dtype);
                }
                rest = tail;
            }
        }
        Ok(())
    }

    /// Writes logical elements `first ..` of `fill` into `out` (whole elements of `dtype`).
    fn fill_range(&self, out: &mut [u8], first: u64, fill: &Fill, dtype: Dtype) {
        let (prepared, stream, variant) = (fill.prepared(), fill.stream(), self.variant);
        if dtype == Dtype::F32 {
            if let Ok(words) = bytemuck::try_cast_slice_mut::<u8, u32>(out) {
                return self.for_each_chunk(words, 1, first, |part, part_first| {
                    prepared_words(variant, part, part_first, prepared, stream)
                });
            }
        }
        let size = dtype.size() as usize;
        self.for_each_chunk(out, size, first, |part, part_first| {
            let mut words = [0u32; CONVERT_CHUNK];
            for (i, bytes) in part.chunks_mut(CONVERT_CHUNK * size).enumerate() {
                let n = bytes.len() / size;
                let part_first = part_first + (i * CONVERT_CHUNK) as u64;
                prepared_words(variant, &mut words[..n], part_first, prepared, stream);
                dtype.encode_slice_with(variant, &words[..n], bytes);
            }
        });
    }

    /// Runs `work(part, first element of part)` over `out` (`per_element` items an element) split
    /// across the threads, each part but the first starting on a multiple of 32 elements (whole
    /// Philox blocks, whole mask words).
    fn for_each_chunk<T: Send>(
        &self,
        out: &mut [T],
        per_element: usize,
        first: u64,
        work: impl Fn(&mut [T], u64) + Sync,
    ) {
        let threads = parallel::threads_for(out.len() / per_element, self.threads);
        parallel::in_parts(out, per_element, first, 32, threads, work)
    }
}

/// One thread's part of a prepared fill, as f32 bit patterns (raw words for `Op::Bits`).
fn prepared_words(variant: CpuVariant, out: &mut [u32], first: u64, prepared: &Prepared, stream: Stream) {
    match prepared {
        Prepared::Elementwise(op) => batch::fill_words(variant, out, first, op, stream),
        Prepared::Values(values) => {
            let source = &values[first as usize..first as usize + out.len()];
            out.copy_from_slice(bytemuck::cast_slice(source));
        }
        Prepared::Sparse { op, mask } => {
            batch::fill_masked_words(variant, out, first, op, stream, &mask.bits, mask.zeros_marked)
        }
        Prepared::Nothing => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, Stream};

    #[test]
    fn thread_count_and_split_do_not_change_values() {
        let fill = Fill::new(&Scheme::normal(0.0, 1.0).unwrap(), &[300_004], Stream::new(3, 4)).unwrap();
        let region = Region::Elements(3..300_004);
        let mut one = vec![0u8; 300_001 * 4];
        CpuBackend::with_threads(1).fill(&fill, &region, Dtype::F32, &mut one).unwrap();
        for threads in [2, 3, 7] {
            for dtype in [Dtype::F32, Dtype::Bf16] {
                let mut many = vec![0u8; 300_001 * dtype.size() as usize];
                CpuBackend::with_threads(threads).fill(&fill, &region, dtype, &mut many).unwrap();
                let mut single = vec![0u8; many.len()];
                CpuBackend::with_threads(1).fill(&fill, &region, dtype, &mut single).unwrap();
                assert!(many == single, "{threads} threads {dtype:?}");
            }
        }
    }

    #[test]
    fn unaligned_f32_output_takes_the_converting_path() {
        let fill = Fill::new(&Scheme::uniform(-1.0, 1.0).unwrap(), &[100], Stream::new(1, 2)).unwrap();
        let mut aligned = vec![0u32; 100];
        let cpu = CpuBackend::new();
        cpu.fill(&fill, &Region::All, Dtype::F32, bytemuck::cast_slice_mut(&mut aligned)).unwrap();
        let mut bytes = vec![0u8; 401];
        cpu.fill(&fill, &Region::All, Dtype::F32, &mut bytes[1..]).unwrap();
        assert_eq!(&bytes[1..], bytemuck::cast_slice::<u32, u8>(&aligned));
    }
}
