//! The CPU backend: the same stream and the same values as the GPU, on all cores.

mod kernel;

use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::fill::Fill;
use crate::planner::Plan;
use crate::prepared::Prepared;
use crate::stream::Stream;

/// Elements below which a fill runs on the calling thread alone.
const MIN_ELEMENTS_PER_THREAD: usize = 1 << 16;

/// Fills host memory with nninit's stream, on a fixed number of threads.
///
/// Raw words and the unit uniform (so `uniform` values) are bit-identical to the GPU engine's;
/// `normal` values agree within the bound the README states.
///
/// ```
/// use nninit::{cpu::CpuBackend, Fill, Scheme, Stream};
/// let mut w = vec![0f32; 1000];
/// CpuBackend::new().fill_f32(&mut w, 0, &Fill::new(&Scheme::uniform(-1.0, 1.0)?, Stream::new(1, 0)));
/// assert!(w.iter().all(|&x| (-1.0..1.0).contains(&x)));
/// # Ok::<(), nninit::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CpuBackend {
    threads: usize,
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
        Self { threads }
    }

    /// A backend using exactly `threads` threads (at least one).
    pub fn with_threads(threads: usize) -> Self {
        Self { threads: threads.max(1) }
    }

    /// The number of threads used.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Writes logical elements `first .. first + out.len()` of `fill` into `out`, as f32.
    pub fn fill_f32(&self, out: &mut [f32], first: u64, fill: &Fill) {
        self.fill_words(bytemuck::cast_slice_mut(out), first, fill)
    }

    /// Writes logical elements `first .. first + out.len()` of a planned tensor into `out`.
    ///
    /// ```
    /// use nninit::{cpu::CpuBackend, Init, Plan, Stream};
    /// let plan = Plan::new(&Init::kaiming_uniform(0.0, "fan_in", "leaky_relu"), &[16, 8])?;
    /// let mut w = vec![0f32; 128];
    /// CpuBackend::new().init_f32(&mut w, 0, &plan, Stream::new(3, 0))?;
    /// let bound = plan.bound.unwrap() as f32;
    /// assert!(w.iter().all(|x| x.abs() <= bound));
    /// # Ok::<(), nninit::Error>(())
    /// ```
    pub fn init_f32(&self, out: &mut [f32], first: u64, plan: &Plan, stream: Stream) -> Result<()> {
        crate::prepared::check_range(first, out.len() as u64, plan.elements())?;
        self.fill_prepared(out, first, &Prepared::new(plan, stream)?);
        Ok(())
    }

    /// Writes logical elements `first .. first + out.len()` of a prepared tensor into `out`.
    pub fn fill_prepared(&self, out: &mut [f32], first: u64, prepared: &Prepared) {
        self.for_each_chunk(bytemuck::cast_slice_mut(out), 1, first, |part, part_first| {
            prepared_words(part, part_first, prepared)
        });
    }

    /// Writes logical elements `first .. first + n` of a prepared tensor into `out` as
    /// little-endian `dtype` (`out.len() = n * dtype.size()`), rounding f32 to nearest-even.
    pub fn fill_prepared_as(&self, out: &mut [u8], first: u64, prepared: &Prepared, dtype: Dtype) -> Result<()> {
        let size = dtype.size() as usize;
        if !out.len().is_multiple_of(size) {
            return Err(Error::InvalidShape(format!("{} bytes are not whole {dtype:?} elements", out.len())));
        }
        self.for_each_chunk(out, size, first, |part, part_first| {
            let mut words = [0u32; CONVERT_CHUNK];
            for (i, bytes) in part.chunks_mut(CONVERT_CHUNK * size).enumerate() {
                let n = bytes.len() / size;
                prepared_words(&mut words[..n], part_first + (i * CONVERT_CHUNK) as u64, prepared);
                dtype.encode_slice(&words[..n], bytes);
            }
        });
        Ok(())
    }

    /// Writes a shard's `segments` (see [`crate::Shard::segments`]) of a prepared tensor into `out`
    /// one after the other, as little-endian `dtype`.
    pub fn fill_segments_as(
        &self,
        out: &mut [u8],
        segments: &[std::ops::Range<u64>],
        prepared: &Prepared,
        dtype: Dtype,
    ) -> Result<()> {
        let size = dtype.size() as usize;
        let total: u64 = segments.iter().map(|s| s.end.saturating_sub(s.start)).sum();
        if total * size as u64 != out.len() as u64 {
            return Err(Error::InvalidShape(format!("{} bytes do not hold {total} {dtype:?} elements", out.len())));
        }
        let mut rest = out;
        for segment in segments {
            let (part, tail) = rest.split_at_mut((segment.end - segment.start) as usize * size);
            self.fill_prepared_as(part, segment.start, prepared, dtype)?;
            rest = tail;
        }
        Ok(())
    }

    /// Writes the 32-bit outputs (f32 bit patterns, or raw words for [`Fill::raw_bits`]) of logical
    /// elements `first .. first + out.len()` into `out`.
    pub fn fill_words(&self, out: &mut [u32], first: u64, fill: &Fill) {
        self.for_each_chunk(out, 1, first, |part, part_first| kernel::fill_words(part, part_first, fill));
    }

    /// Runs `work(part, first element of part)` over `out` (`per_element` items an element) split
    /// across the threads, in chunks that start on a multiple of 32 elements (whole Philox blocks,
    /// whole mask words) after a short unaligned head.
    fn for_each_chunk<T: Send>(
        &self,
        out: &mut [T],
        per_element: usize,
        first: u64,
        work: impl Fn(&mut [T], u64) + Sync,
    ) {
        let elements = out.len() / per_element;
        let threads = self.threads.min(elements / MIN_ELEMENTS_PER_THREAD).max(1);
        if threads == 1 {
            return work(out, first);
        }
        let chunk = elements.div_ceil(threads).next_multiple_of(32);
        let lead = ((32 - first % 32) % 32) as usize;
        let (head, rest) = out.split_at_mut(lead.min(elements) * per_element);
        work(head, first);
        let rest_first = first + (head.len() / per_element) as u64;
        let work = &work;
        std::thread::scope(|scope| {
            for (i, part) in rest.chunks_mut(chunk * per_element).enumerate() {
                let part_first = rest_first + (i * chunk) as u64;
                scope.spawn(move || work(part, part_first));
            }
        });
    }
}

/// Elements converted per step of [`CpuBackend::fill_prepared_as`].
const CONVERT_CHUNK: usize = 4096;

/// One thread's part of a prepared fill, as f32 bit patterns.
fn prepared_words(out: &mut [u32], first: u64, prepared: &Prepared) {
    match prepared {
        Prepared::Elementwise(fill) => kernel::fill_words(out, first, fill),
        Prepared::Matrix(matrix) => {
            let source = &matrix[first as usize..first as usize + out.len()];
            out.copy_from_slice(bytemuck::cast_slice(source));
        }
        Prepared::Sparse { fill, mask } => {
            kernel::fill_words(out, first, fill);
            mask.zero_out(out, first);
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
        let fill = Fill::new(&Scheme::normal(0.0, 1.0).unwrap(), Stream::new(3, 4));
        let first = 3u64;
        let mut one = vec![0u32; 300_001];
        CpuBackend::with_threads(1).fill_words(&mut one, first, &fill);
        for threads in [2, 3, 7] {
            let mut many = vec![0u32; one.len()];
            CpuBackend::with_threads(threads).fill_words(&mut many, first, &fill);
            assert!(many == one, "{threads} threads");
        }
    }
}
